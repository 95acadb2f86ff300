/**
 * Debian's nginx for the suite that runs the nginx guide's configuration (examples/nginx/) in
 * front of the hub: started by the test as an unprivileged foreground process with its pid file,
 * logs and temp paths in a temp directory. Without nginx the suite is skipped with one line; with
 * CI=true it fails instead (.ci/run installs nginx-light).
 */
import { existsSync } from 'node:fs';

/** The nginx binary the suite runs; override with TESSERA_TEST_NGINX. */
export const nginxBinary = process.env.TESSERA_TEST_NGINX ?? '/usr/sbin/nginx';
const haveNginx = existsSync(nginxBinary);
const inCi = process.env.CI === 'true';

/** `describe` when nginx can run (or must: CI), `describe.skip` with one line otherwise. */
export function describeWithNginx(suite: string): jest.Describe {
  if (!haveNginx && !inCi) {
    process.stderr.write(`SKIPPED: ${suite} — no nginx at ${nginxBinary} (apt-get install nginx-light, or set TESSERA_TEST_NGINX)\n`);
    return describe.skip;
  }
  return describe;
}

/** For a suite's beforeAll: in CI a missing nginx is a failure, not a skip. */
export function requireNginx(): void {
  if (!haveNginx) throw new Error(`CI=true and no nginx at ${nginxBinary}: the nginx suite must run in CI (.ci/run installs Debian's nginx-light)`);
}
