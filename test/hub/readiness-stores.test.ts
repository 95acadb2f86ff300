/**
 * `/readyz` of a real hub process follows each of its real stores: Redis (sessions and the
 * replay cache) and PostgreSQL (users, outbox) of this test's own are stopped and started
 * again. While one is down, `/readyz` is 503 and names exactly the roles it serves, with no
 * credential from the store URLs in the answer or the log; once it is back, `/readyz` is 200
 * again without a restart of the hub.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHubProcess, type HubProcess } from '../support/hub-process';
import { describeWithOwnRedisAndPostgres, startOwnPostgres, startOwnRedis, type OwnPostgres, type OwnRedis } from '../support/own-servers';
import { eventually } from '../metrics/exposition';

jest.setTimeout(60_000);

const redisPassword = 'redis-pass-4f1c9e';
const postgresPassword = 'pg-pass-8b2d7a';

describeWithOwnRedisAndPostgres('readiness of each store')('GET /readyz with real stores going down and coming back', () => {
  let redis: OwnRedis | undefined;
  let postgres: OwnPostgres | undefined;
  let hub: HubProcess | undefined;
  let dir: string;

  const readyz = async (): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${hub!.url}/readyz`);
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startOwnRedis({ appendonly: false }), startOwnPostgres()]);
    dir = mkdtempSync(join(tmpdir(), 'tessera-readiness-'));
    // Neither server asks for a password (no requirepass; trust), but the hub sends them: they
    // stand for the credentials a production URL carries, which must never reach an answer.
    hub = await startHubProcess(
      {
        TESSERA_PUBLIC_URL: 'https://hub.example.com',
        TESSERA_STORE: `redis://:${redisPassword}@127.0.0.1:${redis.port}`,
        TESSERA_STORE_PREFIX: 'readiness:',
        TESSERA_DATABASE: postgres.url.replace('postgres@', `postgres:${postgresPassword}@`),
        TESSERA_KEYS_DIR: join(dir, 'keys'),
      },
      20_000,
      { cwd: dir },
    );
  });

  afterAll(async () => {
    await hub?.kill();
    await Promise.all([redis?.stop(), postgres?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the session store and replay cache while Redis is down, and recovers', async () => {
    expect(await readyz()).toEqual({ status: 200, text: JSON.stringify({ status: 'ready' }) });
    await redis!.kill('SIGKILL');
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text)).toEqual({ status: 'unavailable', code: 'ERR_STORE_UNAVAILABLE', failed: ['sessions', 'replay'] });
    // Liveness is not readiness: the process itself is fine.
    expect((await fetch(`${hub!.url}/healthz`)).status).toBe(200);

    await redis!.start();
    await eventually(async () => (await readyz()).status === 200, 15_000);
  });

  it('names the user database and outbox while PostgreSQL is down, and recovers', async () => {
    await postgres!.stopServer('fast');
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text)).toEqual({ status: 'unavailable', code: 'ERR_STORE_UNAVAILABLE', failed: ['users', 'outbox'] });

    await postgres!.startServer();
    await eventually(async () => (await readyz()).status === 200, 15_000);
  });

  it('kept the store credentials out of every answer and log line', () => {
    const logged = hub!.logs.map((line) => JSON.stringify(line)).join('\n');
    expect(logged).toContain('readiness check failed');
    expect(logged).not.toContain(redisPassword);
    expect(logged).not.toContain(postgresPassword);
  });
});
