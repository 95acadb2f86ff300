/**
 * Graceful shutdown of `tessera serve` (src/main.ts `startHub().stop`), on a real process: a
 * request in flight when SIGTERM arrives is answered in full, new connections are refused from
 * then on, and the process exits 0 promptly (a keep-alive connection that was busy does not
 * hold it for Node's 5-second keep-alive timeout).
 *
 * The request in flight is a real slow one: a password sign-in whose stored argon2id hash has a
 * high time cost (verification reads the cost from the hash), so it runs for about a second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as argon2 from 'argon2';
import { loadConfig } from '../src/config/load';
import { systemClock } from '../src/core/clock';
import { silentLogger } from '../src/log/logger';
import { openStores } from '../src/stores/open';
import { CookieClient, csrfFrom } from './support/client';
import { startHubProcess, type HubProcess } from './support/hub-process';
import { eventually } from './metrics/exposition';

jest.setTimeout(60_000);

const HUB = 'https://hub.example.com';
const password = 'correct horse battery staple';

describe('tessera serve: SIGTERM drains requests in flight', () => {
  let dir: string;
  let hub: HubProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-shutdown-'));
    const env = { TESSERA_PUBLIC_URL: HUB, TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}`, TESSERA_KEYS_DIR: join(dir, 'keys') };
    const stores = await openStores(loadConfig({ env: { ...env, TESSERA_LOG_LEVEL: 'silent' } }).config, systemClock, silentLogger());
    // Ten passes instead of three: about a second per verification on this hardware.
    const slowHash = await argon2.hash(password, { type: argon2.argon2id, memoryCost: 65_536, timeCost: 10, parallelism: 4 });
    await stores.users.create({ email: 'slow@example.com', passwordHash: slowHash });
    await stores.close();
    hub = await startHubProcess(env);
  });

  afterAll(async () => {
    await hub?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the sign-in in flight, refuses new connections, and exits 0', async () => {
    const { port } = new URL(hub!.url);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      hub!.child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
    );
    const client = new CookieClient(hub!.url);
    const page = await client.get('/login');
    expect(page.status).toBe(200);

    // fetch keeps the connection alive, as browsers and proxies do.
    const inFlight = client
      .post('/login', { _csrf: csrfFrom(page.body), email: 'slow@example.com', password }, { origin: HUB, 'sec-fetch-site': 'same-origin' })
      .then((res) => ({ res, at: performance.now() }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const signalledAt = performance.now();
    hub!.child.kill('SIGTERM');
    await eventually(async () => hub!.logs.some((line) => line.msg === 'shutting down'), 5000);

    // The listening socket is closed: a new connection is refused while the sign-in still runs.
    const refused = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: Number(port) });
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');

    const { res, at: answeredAt } = await inFlight;
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${HUB}/account`);
    expect(res.setCookies.some((c) => c.startsWith('__Host-tessera='))).toBe(true);

    const exit = await exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(answeredAt).toBeLessThan(exit.at);
    // Not held by the idle keep-alive connection (without the sweep: about 3 s here, 5 s at worst).
    expect(exit.at - answeredAt).toBeLessThan(1500);
    expect(exit.at - signalledAt).toBeLessThan(10_000);
    const messages = hub!.logs.map((line) => line.msg);
    expect(messages.indexOf('shutting down')).toBeLessThan(messages.indexOf('hub stopped'));
  });
});
