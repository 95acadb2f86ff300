/**
 * Where the development `file` mail transport writes: a relative `mail.dir` (`TESSERA_MAIL_DIR`)
 * is taken from the working directory of the process, in the hub and in the `tessera` command
 * alike (as `keys.dir` and a relative `sqlite:` path are), and both say which absolute directory
 * that is, so an operator sees at once whether the command's messages land beside the hub's.
 * Runs the built command and hub (`dist/`, built by `npm test`'s `pretest`).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHubProcess } from '../support/hub-process';

const cliPath = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

/** Relative paths only: each process resolves them in its own working directory. */
const relativeEnv = { TESSERA_STORE: 'sqlite:data/tessera.db', TESSERA_KEYS_DIR: 'keys', TESSERA_MAIL_DIR: 'data/mail', TESSERA_LOG_LEVEL: 'warn' };

describe('a relative mail.dir', () => {
  let dir: string;

  beforeEach(() => {
    if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`npm run build\` first (npm test does it in pretest)`);
    // The real path: the processes report the directory as the system names it (macOS /private/var…).
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'tessera-mail-dir-')));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function tessera(...args: string[]): Promise<{ code: number; stderr: string }> {
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TESSERA_')));
    return new Promise((resolve) => {
      execFile(process.execPath, [cliPath, ...args], { env: { ...base, ...relativeEnv }, cwd: dir }, (err, _stdout, stderr) => {
        resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), stderr });
      });
    });
  }

  it('is where the command writes, named as an absolute directory, the one the hub started there names', async () => {
    expect((await tessera('users', 'add', '--email', 't@example.com')).code).toBe(0);
    const { code, stderr } = await tessera('users', 'two-step-off', '--email', 't@example.com');
    expect(code).toBe(0);
    const mailDir = join(dir, 'data', 'mail');
    expect(stderr).toContain(`tessera: warning: mail transport "file": messages are written to disk and their links to the log; for development only ${JSON.stringify({ dir: mailDir })}`);
    expect(readdirSync(mailDir).filter((name) => name.endsWith('.eml'))).toHaveLength(1);

    const hub = await startHubProcess({ ...relativeEnv, TESSERA_LOG_LEVEL: 'info' }, 20_000, { cwd: dir });
    try {
      expect(hub.logs).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/^mail transport "file"/), dir: mailDir }));
    } finally {
      await hub.stop();
    }
  });
});
