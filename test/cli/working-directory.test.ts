/**
 * A command run from another directory than the hub's: with the default relative settings
 * (`keys`, `sqlite:data/tessera.db`) it would work on files of its own there. The commands that
 * change keys refuse a keys directory that is missing or holds no key (they would otherwise
 * generate one and "rotate" keys no hub uses), and every command that opens the stores names,
 * at info level on standard error, the absolute files it uses; but for the ones that may come before
 * the hub's first start (`users add`, `admin-tokens create`), they refuse a SQLite database that
 * does not exist rather than create an empty one there. Runs the built command
 * (`dist/cli/main.js`, built by `npm test`'s `pretest`), since those lines go to descriptor 2.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cliPath = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** The JSON log lines of standard error, parsed. */
  logs: Record<string, unknown>[];
}

describe('a command run from another directory', () => {
  let dir: string;

  beforeEach(() => {
    if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`npm run build\` first (npm test does it in pretest)`);
    // The real path: the command reports directories as the system names them (macOS /private/var…).
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'tessera-cli-cwd-')));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the command in `dir` with the default relative settings (no TESSERA_* but the level and the mail directory). */
  function tessera(...args: string[]): Promise<Run> {
    return tesseraWith({}, ...args);
  }

  function tesseraWith(settings: Record<string, string>, ...args: string[]): Promise<Run> {
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TESSERA_')));
    const env = { ...base, TESSERA_LOG_LEVEL: 'info', TESSERA_MAIL_DIR: join(dir, 'mail'), ...settings };
    return new Promise((resolve) => {
      execFile(process.execPath, [cliPath, ...args], { env, cwd: dir }, (err, stdout, stderr) => {
        const logs = stderr
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), stdout, stderr, logs });
      });
    });
  }

  it('refuses keys rotate where there is no keys directory, naming its absolute path, and creates nothing', async () => {
    const { code, stdout, stderr } = await tessera('keys', 'rotate');
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(`tessera: ERR_KEYS_NOT_FOUND: no signing key in ${join(dir, 'keys')} (the directory does not exist)`);
    expect(stderr).toContain('TESSERA_KEYS_DIR');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses keys rotate and keys retire on a keys directory that holds no key, leaving it as it was', async () => {
    mkdirSync(join(dir, 'keys'));
    writeFileSync(join(dir, 'keys', 'README.md'), 'keys go here\n');
    for (const args of [['keys', 'rotate'], ['keys', 'retire', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']]) {
      const { code, stderr } = await tessera(...args);
      expect(code).toBe(1);
      expect(stderr).toContain(`tessera: ERR_KEYS_NOT_FOUND: no signing key in ${join(dir, 'keys')} (the directory holds none)`);
      expect(readdirSync(join(dir, 'keys'))).toEqual(['README.md']);
      expect(existsSync(join(dir, 'data'))).toBe(false);
    }
  });

  it('rotates where the keys are, naming the absolute keys directory and SQLite file it used', async () => {
    expect((await tessera('keys', 'list')).code).toBe(0);
    expect((await tessera('users', 'add', '--email', 'root@example.com', '--admin')).code).toBe(0);
    const { code, stdout, logs } = await tessera('keys', 'rotate');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^published [A-Za-z0-9_-]{43} as next/);
    expect(logs).toContainEqual(expect.objectContaining({ level: 30, keysDir: join(dir, 'keys') }));
    expect(logs).toContainEqual(expect.objectContaining({ level: 30, sessionStore: join(dir, 'data', 'tessera.db'), userDatabase: join(dir, 'data', 'tessera.db') }));
  });

  it('refuses keys rotate and keys retire where the keys are but the database is not (an absolute keys directory, a command run elsewhere), before changing any key', async () => {
    const keysDir = join(dir, 'hub', 'keys');
    expect((await tesseraWith({ TESSERA_KEYS_DIR: keysDir }, 'keys', 'list')).code).toBe(0);
    const [kid = ''] = readdirSync(keysDir).flatMap((file) => /^(.+)\.json$/.exec(file)?.[1] ?? []);
    for (const args of [['keys', 'rotate'], ['keys', 'retire', kid]]) {
      const { code, stdout, stderr } = await tesseraWith({ TESSERA_KEYS_DIR: keysDir }, ...args);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toContain(`tessera: ERR_DATABASE_NOT_FOUND: no database at ${join(dir, 'data', 'tessera.db')}; nothing was created.`);
      expect(existsSync(join(dir, 'data'))).toBe(false);
      const listed = await tesseraWith({ TESSERA_KEYS_DIR: keysDir }, 'keys', 'list');
      expect(listed.stdout.split('\n').filter((line) => line.includes(' active '))).toHaveLength(1);
      expect(listed.stdout).not.toMatch(/ next | retired /);
    }
  });

  it('lets users add create the SQLite file of a new installation, naming it', async () => {
    const { code, logs } = await tessera('users', 'add', '--email', 'root@example.com', '--admin');
    expect(code).toBe(0);
    expect(existsSync(join(dir, 'data', 'tessera.db'))).toBe(true);
    expect(logs).toContainEqual(expect.objectContaining({ level: 30, sessionStore: join(dir, 'data', 'tessera.db'), userDatabase: join(dir, 'data', 'tessera.db') }));
  });

  it.each([
    [['users', 'list']],
    [['users', 'disable', '--email', 'ada@example.com']],
    [['sessions', 'list']],
    [['sessions', 'purge']],
    [['audit', 'tail']],
    [['outbox', 'list']],
    [['admin-tokens', 'list']],
  ])('refuses %j where there is no database, naming its absolute path, and creates nothing', async (args) => {
    const { code, stdout, stderr } = await tessera(...args);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(`tessera: ERR_DATABASE_NOT_FOUND: no database at ${join(dir, 'data', 'tessera.db')}; nothing was created.`);
    expect(stderr).toContain('TESSERA_STORE');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('with Redis sessions, refuses where there is no user database and points to the working directory or TESSERA_DATABASE, not TESSERA_STORE', async () => {
    // Refused before Redis is reached: no Redis is needed at this address.
    const { code, stderr } = await tesseraWith({ TESSERA_STORE: 'redis://127.0.0.1:1' }, 'sessions', 'list');
    expect(code).toBe(1);
    expect(stderr).toContain(`tessera: ERR_DATABASE_NOT_FOUND: no database at ${join(dir, 'data', 'tessera.db')}; nothing was created.`);
    expect(stderr).toContain('TESSERA_DATABASE');
    expect(stderr).not.toContain('TESSERA_STORE');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('lets admin-tokens create make the database of a new installation, and reads it afterwards', async () => {
    expect((await tessera('admin-tokens', 'create', '--name', 'ci', '--scope', 'users:read')).code).toBe(0);
    expect(existsSync(join(dir, 'data', 'tessera.db'))).toBe(true);
    const listed = await tessera('admin-tokens', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('ci');
  });
});
