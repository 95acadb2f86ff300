/**
 * `tessera serve` that cannot start exits non-zero instead of hanging: whatever it opened before
 * the failure (the Redis client, which keeps reconnecting and so keeps the process alive) is
 * closed again. A process that printed its error but stays up is never restarted by
 * `restart: unless-stopped`, systemd or a supervisor.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHubProcess } from '../support/hub-process';
import { freePort } from '../support/own-servers';
import { describeWithRedis, redisUrl } from '../support/services';

jest.setTimeout(60_000);

describeWithRedis('tessera serve on Redis: a failed start exits 1', () => {
  let dir: string;
  let env: Record<string, string>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-ops-start-'));
    env = {
      TESSERA_PUBLIC_URL: 'https://hub.example.com',
      TESSERA_STORE: redisUrl,
      TESSERA_STORE_PREFIX: `tessera-ops-${randomBytes(4).toString('hex')}:`,
      TESSERA_KEYS_DIR: join(dir, 'keys'),
      TESSERA_MAIL_DIR: join(dir, 'mail'),
    };
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('when PostgreSQL refuses connections at start', async () => {
    const closedPort = await freePort();
    await expect(startHubProcess({ ...env, TESSERA_DATABASE: `postgres://postgres@127.0.0.1:${closedPort}/tessera` }, 20_000, { cwd: dir })).rejects.toThrow(
      /exited with 1 before listening[\s\S]*ERR_STORE_UNAVAILABLE/,
    );
  });

  it('when its port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      await expect(startHubProcess({ ...env, TESSERA_PORT: String(port) }, 20_000, { cwd: dir })).rejects.toThrow(/exited with 1 before listening[\s\S]*EADDRINUSE/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('when keys/ holds a broken key', async () => {
    mkdirSync(join(dir, 'keys'), { mode: 0o700 });
    writeFileSync(join(dir, 'keys', 'broken.json'), 'not json', { mode: 0o600 });
    await expect(startHubProcess(env, 20_000, { cwd: dir })).rejects.toThrow(/exited with 1 before listening[\s\S]*ERR_KEY_INVALID/);
  });
});
