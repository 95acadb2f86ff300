/**
 * Debian's Python 3 with PyJWT, redis-py, Flask and Django, for the suites that run the Python
 * guide's examples (examples/python/) against the real hub. Without them a suite is skipped with
 * one line; with CI=true it fails instead (.ci/run installs python3-jwt, python3-redis,
 * python3-flask and python3-django).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The interpreter the suites run; Debian's, whose dist-packages hold the apt-installed modules. Override with TESSERA_TEST_PYTHON. */
export const pythonBinary = process.env.TESSERA_TEST_PYTHON ?? '/usr/bin/python3';
const modules = ['jwt', 'cryptography', 'redis', 'flask', 'django'] as const;
const inCi = process.env.CI === 'true';

/** Why Python cannot run the examples, or null when it can. Checked once per test file. */
function missing(): string | null {
  if (!existsSync(pythonBinary)) return `no Python at ${pythonBinary}`;
  const probe = spawnSync(pythonBinary, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8', timeout: 20_000 });
  if (probe.status !== 0) return `${pythonBinary} cannot import ${modules.join(', ')}: ${(probe.stderr.trim().split('\n').pop() ?? '').trim()}`;
  return null;
}

const problem = missing();

/** `describe` when Python and its modules can run (or must: CI), `describe.skip` with one line otherwise. */
export function describeWithPython(suite: string): jest.Describe {
  if (problem !== null && !inCi) {
    process.stderr.write(`SKIPPED: ${suite} — ${problem} (apt-get install python3-jwt python3-cryptography python3-redis python3-flask python3-django, or set TESSERA_TEST_PYTHON)\n`);
    return describe.skip;
  }
  return describe;
}

/** For a suite's beforeAll: in CI a missing interpreter or module is a failure, not a skip. */
export function requirePython(): void {
  if (problem !== null) throw new Error(`CI=true and ${problem}: the Python suite must run in CI (.ci/run installs Debian's python3 modules)`);
}
