/**
 * Debian's php-cli for the suites that check Tessera against real PHP (session projections).
 * Without it a suite is skipped with one line; with CI=true it fails instead (.ci/run installs it).
 */
import { existsSync } from 'node:fs';

/** The PHP interpreter the suites run; override with TESSERA_TEST_PHP. */
export const phpBinary = process.env.TESSERA_TEST_PHP ?? '/usr/bin/php';
const havePhp = existsSync(phpBinary);
const inCi = process.env.CI === 'true';

/** `describe` when PHP can run (or must: CI), `describe.skip` with one line otherwise. */
export function describeWithPhp(suite: string): jest.Describe {
  if (!havePhp && !inCi) {
    process.stderr.write(`SKIPPED: ${suite} — no PHP at ${phpBinary} (apt-get install php-cli, or set TESSERA_TEST_PHP)\n`);
    return describe.skip;
  }
  return describe;
}

/** For a suite's beforeAll: in CI a missing PHP is a failure, not a skip. */
export function requirePhp(): void {
  if (!havePhp) throw new Error(`CI=true and no PHP at ${phpBinary}: the PHP suite must run in CI (.ci/run installs Debian's php-cli)`);
}
