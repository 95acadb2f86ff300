/**
 * The `tessera` command's own log lines (JSON, on standard error) follow `log.level`
 * (`TESSERA_LOG_LEVEL`, or the config file's key) as the hub's do: more with `debug`, fewer with
 * `error`, none with `silent`. Runs the built command (`dist/cli/main.js`, built by `npm test`'s
 * `pretest`) as an operator does, since those lines go straight to file descriptor 2.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cliPath = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

interface Run {
  code: number;
  stdout: string;
  /** The JSON log lines of standard error, parsed. */
  logs: { level: number; msg: string }[];
}

describe('the log level of the tessera command', () => {
  let dir: string;

  beforeEach(() => {
    if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`npm run build\` first (npm test does it in pretest)`);
    dir = mkdtempSync(join(tmpdir(), 'tessera-cli-log-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function tessera(env: Record<string, string>, ...args: string[]): Promise<Run> {
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TESSERA_')));
    const configured = { TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}`, TESSERA_KEYS_DIR: join(dir, 'keys'), TESSERA_MAIL_DIR: join(dir, 'mail'), ...env };
    return new Promise((resolve) => {
      execFile(process.execPath, [cliPath, ...args], { env: { ...base, ...configured }, cwd: dir }, (err, stdout, stderr) => {
        const logs = stderr
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as { level: number; msg: string });
        resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), stdout, logs });
      });
    });
  }

  it('logs the warning of a first key generated at the default level, and not with TESSERA_LOG_LEVEL=error', async () => {
    const quiet = await tessera({ TESSERA_LOG_LEVEL: 'error' }, 'keys', 'list');
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toMatch(/^KID\s+ALG\s+STATE/);
    expect(quiet.logs).toEqual([]);

    rmSync(join(dir, 'keys'), { recursive: true, force: true });
    const told = await tessera({}, 'keys', 'list');
    expect(told.code).toBe(0);
    expect(told.logs.filter((line) => line.level >= 40)).toEqual([expect.objectContaining({ level: 40, msg: 'no signing key found: generated a new one' })]);
  });

  it('logs info lines with TESSERA_LOG_LEVEL=info, and nothing with silent', async () => {
    // users list refuses a database that does not exist: users add makes it.
    expect((await tessera({ TESSERA_LOG_LEVEL: 'silent' }, 'users', 'add', '--email', 'ada@example.com')).code).toBe(0);
    const verbose = await tessera({ TESSERA_LOG_LEVEL: 'info' }, 'users', 'list');
    expect(verbose.code).toBe(0);
    expect(verbose.logs).toContainEqual(expect.objectContaining({ level: 30, msg: 'session store opened' }));

    // keys rotate refuses a keys directory without a key: keys list makes the first one.
    expect((await tessera({ TESSERA_LOG_LEVEL: 'silent' }, 'keys', 'list')).code).toBe(0);
    const silent = await tessera({ TESSERA_LOG_LEVEL: 'silent' }, 'keys', 'rotate');
    expect(silent.code).toBe(0);
    expect(silent.logs).toEqual([]);
  });

  it('takes the level from the config file too', async () => {
    const file = join(dir, 'tessera.yaml');
    writeFileSync(file, 'log: { level: error }\n');
    const quiet = await tessera({}, '--config', file, 'keys', 'list');
    expect(quiet.code).toBe(0);
    expect(quiet.logs).toEqual([]);
  });
});
