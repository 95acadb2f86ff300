/**
 * The PHP guide (docs/integrations/php.md) proven with Debian's PHP and its redis extension: the
 * real hub on Redis, configured with the guide's site entry (examples/php/tessera-site.json), sets
 * the site's PHPSESSID from a beacon; PHP's built-in server, configured with the guide's php.ini
 * (examples/php/php.ini; only the key prefix changed, so suites can share one Redis), runs the
 * guide's pages. For each of PHP's `php_serialize` and `php` session encodings:
 * - whoami.php reads the projected user through `$_SESSION`;
 * - cart.php stores the application's own data, which survives a refresh by the hub that also
 *   brings a changed name;
 * - after a sign-out from the site (a revocation), PHP finds no session under that cookie;
 * - PHP extends its session key's TTL on every request, and the hub's purge still ends it with
 *   the session.
 * The guide's code blocks are the files under examples/php/, checked here too.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { FrozenClock, nowSeconds } from '../../src/core/clock';
import { mintHandoff } from '../../src/core/tokens/handoff';
import { closeRedisClient, createRedisClient, type RedisClient } from '../../src/stores/redis/client';
import { RedisProjectionStore } from '../../src/stores/redis/projection-store';
import { RedisReplayStore } from '../../src/stores/redis/replay-store';
import { RedisSessionStore } from '../../src/stores/redis/session-store';
import { Browser, HUB, HUB_HOST, signedInSession, type SignedIn } from '../hub/handoff-support';
import { startTestHub, testConfig, type TestHub } from '../support/hub';
import { describeWithPhp, phpBinary, requirePhp } from '../support/php';
import { redisUrl } from '../support/services';

const root = join(__dirname, '..', '..');
const examplesDir = join(root, 'examples', 'php');
const example = (name: string): string => readFileSync(join(examplesDir, name), 'utf8');
const SITE_HOST = 'shop.example.net';

describe('the PHP guide', () => {
  it('shows every file of examples/php/ verbatim, each under its name, and no other code', () => {
    const guide = readFileSync(join(root, 'docs', 'integrations', 'php.md'), 'utf8');
    const blocks = [...guide.matchAll(/(?:^`examples\/php\/([^`]+)`:\n\n)?^```[a-z]*\n([\s\S]*?)^```$/gm)].map((m) => ({ name: m[1] ?? null, text: m[2] }));
    const files = readdirSync(examplesDir).sort();
    expect(files).toEqual(['cart.php', 'php.ini', 'tessera-site.json', 'whoami.php']);
    expect(blocks.map((b) => b.name)).toEqual(expect.arrayContaining(files));
    expect(blocks).toHaveLength(files.length);
    for (const block of blocks) expect(block.text).toBe(example(block.name!));
  });

  it("names the README's link to it", () => {
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain('docs/integrations/php.md');
  });
});

/** PHP with its redis extension, or a reason why not. */
function phpRedisMissing(): string | null {
  const modules = spawnSync(phpBinary, ['-m'], { encoding: 'utf8' });
  if (modules.error !== undefined || modules.status !== 0) return `no PHP at ${phpBinary}`;
  return /^redis$/m.test(modules.stdout) ? null : `PHP at ${phpBinary} has no redis extension (apt-get install php-redis)`;
}

const inCi = process.env.CI === 'true';
const redisUp = process.env.TESSERA_TEST_REDIS_UP === '1';
const missing = redisUp ? phpRedisMissing() : 'Redis does not answer';
const suiteName = 'PHP reads the projection through $_SESSION';
const suite = missing !== null && !inCi ? describe.skip : describeWithPhp(suiteName);
if (missing !== null && !inCi) process.stderr.write(`SKIPPED: ${suiteName} — ${missing}\n`);

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface PhpReply {
  status: number;
  body: Record<string, unknown>;
  setCookies: string[];
}

/** PHP's built-in server running examples/php/ with the guide's php.ini. */
class PhpSite {
  private constructor(
    private readonly process: ChildProcess,
    private readonly port: number,
    private readonly dir: string,
    private readonly output: () => string,
  ) {}

  static async start(keyPrefix: string, format: 'php_serialize' | 'php'): Promise<PhpSite> {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-php-'));
    const ini = example('php.ini').replace('prefix=PHPREDIS_SESSION:', `prefix=${keyPrefix}`).replace('tcp://127.0.0.1:6379', `tcp://${new URL(redisUrl).host}`);
    expect(ini).toContain(`prefix=${keyPrefix}"`);
    writeFileSync(join(dir, 'php.ini'), ini);
    const port = await freePort();
    const child = spawn(phpBinary, ['-c', join(dir, 'php.ini'), '-d', `session.serialize_handler=${format}`, '-S', `127.0.0.1:${port}`, '-t', examplesDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const site = new PhpSite(child, port, dir, () => output);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`php -S exited with ${child.exitCode}:\n${output}`);
      if (await site.accepting()) return site;
      if (Date.now() > deadline) throw new Error(`php -S did not listen:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private accepting(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect(this.port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  }

  /** One request for the site's host with the visitor's PHPSESSID. */
  request(path: string, cookie: string, options: { form?: Record<string, string>; origin?: string } = {}): Promise<PhpReply> {
    const body = options.form === undefined ? undefined : new URLSearchParams(options.form).toString();
    const headers: Record<string, string> = { host: SITE_HOST, cookie: `PHPSESSID=${cookie}` };
    if (options.origin !== undefined) headers.origin = options.origin;
    if (body !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.port, path, method: body === undefined ? 'GET' : 'POST', headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), setCookies: res.headers['set-cookie'] ?? [] });
          } catch {
            reject(new Error(`PHP answered ${res.statusCode}: ${text}\n${this.output()}`));
          }
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null) {
      const exited = new Promise((resolve) => this.process.once('exit', resolve));
      this.process.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function deleteKeys(redis: RedisClient, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await (redis as Redis).scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

suite(suiteName, () => {
  for (const format of ['php_serialize', 'php'] as const) {
    describe(`session.serialize_handler = ${format}`, () => {
      const runPrefix = `tessera-test:${crypto.randomBytes(6).toString('hex')}:`;
      const keyPrefix = `${runPrefix}PHPREDIS_SESSION:`;
      let redis: RedisClient;
      let projections: RedisProjectionStore;
      let hub: TestHub;
      let php: PhpSite;

      beforeAll(async () => {
        if (missing !== null) requirePhp();
        if (missing !== null) throw new Error(`CI=true: ${missing}`);
        redis = createRedisClient(redisUrl);
        // Redis counts TTLs by its own clock: the frozen clock starts at real time.
        const clock = new FrozenClock(Date.now());
        const prefix = `${runPrefix}hub:`;
        projections = new RedisProjectionStore(redis, { clock, prefix });
        const site = JSON.parse(example('tessera-site.json')) as { projection: Record<string, unknown> };
        site.projection = { ...site.projection, format, keyPrefix };
        hub = await startTestHub({
          clock,
          config: testConfig({ TESSERA_STORE: redisUrl, TESSERA_STORE_PREFIX: prefix, TESSERA_SITES: JSON.stringify([site]) }),
          sessions: new RedisSessionStore(redis, { clock, prefix }),
          replay: new RedisReplayStore(redis, { clock, prefix }),
          projections,
        });
        php = await PhpSite.start(keyPrefix, format);
      }, 30_000);

      afterAll(async () => {
        await php?.stop();
        await hub?.close();
        if (redis !== undefined) {
          await deleteKeys(redis, runPrefix);
          await closeRedisClient(redis);
        }
      });

      /** A signed-in user handed to the PHP site by a beacon; the PHPSESSID value the hub set. */
      async function handedOff(): Promise<{ signed: SignedIn; browser: Browser; cookie: string }> {
        const signed = await signedInSession(hub, { roles: ['editor', 'admin'] });
        const token = mintHandoff(
          hub.deps.keyring,
          { audience: `https://${SITE_HOST}`, sid: signed.record.sid, sub: signed.user.id, src: HUB_HOST, identity: { email: signed.user.email, name: signed.user.name, roles: signed.user.roles } },
          { clock: hub.clock, issuer: HUB },
        );
        const browser = new Browser(hub.url);
        const res = await browser.get(SITE_HOST, `/shared-session/${token}.js`, { referer: `${HUB}/` });
        expect(res.status).toBe(200);
        return { signed, browser, cookie: browser.jar(SITE_HOST).get('PHPSESSID')! };
      }

      it('PHP reads the user Tessera projected; its own data survives a refresh that brings a new name; after a sign-out it finds no session', async () => {
        const { signed, browser, cookie } = await handedOff();
        const me = await php.request('/whoami.php', cookie);
        expect(me).toEqual({
          status: 200,
          body: { signed_in: true, user_id: signed.user.id, email: signed.user.email, name: signed.user.name, roles: ['editor', 'admin'], tessera_sid: signed.record.sid, cart: [] },
          // PHP adopted the hub's cookie as its session id: it sets none of its own.
          setCookies: [],
        });

        expect((await php.request('/cart.php', cookie, { form: { item: 'book' }, origin: `https://${SITE_HOST}` })).body).toEqual({ cart: ['book'] });
        expect((await php.request('/cart.php', cookie, { form: { item: 'lamp' }, origin: 'https://evil.example' })).status).toBe(403);
        expect((await php.request('/cart.php', cookie, { form: { item: 'pen' }, origin: `https://${SITE_HOST}` })).body).toEqual({ cart: ['book', 'pen'] });

        // The session is used on the site a minute later: the hub refreshes the projection.
        await hub.deps.users.setName(signed.user.id, 'Ada Lovelace');
        hub.clock.advance(61_000);
        expect((await browser.get(SITE_HOST, '/shared-session/loader.js')).status).toBe(200);
        const key = `${keyPrefix}${cookie}`;
        expect(await redis.zscore(`${runPrefix}hub:projections`, key)).toBe(String(nowSeconds(hub.clock) + 1800));
        expect((await php.request('/whoami.php', cookie)).body).toMatchObject({ signed_in: true, user_id: signed.user.id, name: 'Ada Lovelace', cart: ['book', 'pen'] });

        // Sign-out started from the site ends the session everywhere.
        const out = await browser.request(SITE_HOST, 'POST', '/shared-session/logout', { headers: { origin: `https://${SITE_HOST}`, 'sec-fetch-site': 'same-origin' } });
        expect(out.status).toBe(303);
        const after = await php.request('/whoami.php', cookie);
        expect(after.status).toBe(401);
        expect(after.body).toEqual({ signed_in: false, sign_in: '/shared-session/start?prompt=login&return_to=%2Fwhoami.php' });
        // Strict mode: PHP did not bring the old id back; it started a new session of its own.
        expect(after.setCookies).toEqual([expect.stringMatching(/^PHPSESSID=[A-Za-z0-9,-]+; path=\/; secure; HttpOnly$/)]);
        expect(after.setCookies[0]).not.toContain(cookie);
        expect(await redis.exists(key)).toBe(0);
      });

      it("sets a cookie value PHP's strictest handler takes as a session id (phpredis does not check)", async () => {
        const { cookie } = await handedOff();
        const dir = mkdtempSync(join(tmpdir(), 'tessera-php-files-'));
        try {
          const run = spawnSync(phpBinary, ['-d', 'session.save_handler=files', '-d', `session.save_path=${dir}`, '-r', 'session_id($argv[1]); echo json_encode([session_start(), session_id()]);', cookie], { encoding: 'utf8' });
          expect({ out: run.stdout, err: run.stderr }).toEqual({ out: JSON.stringify([true, cookie]), err: '' });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it("ends the PHP session with the Tessera session, though PHP moves the key's TTL on every request", async () => {
        const { signed, cookie } = await handedOff();
        const key = `${keyPrefix}${cookie}`;
        // PHP's own requests keep re-expiring the key (session.gc_maxlifetime).
        await redis.expire(key, 86_400);
        expect((await php.request('/whoami.php', cookie)).status).toBe(200);
        expect(await redis.ttl(key)).toBeGreaterThan(1700);

        // Nobody used the session at the hub or its receivers: it idles out.
        hub.clock.advance((signed.record.idleExpiresAt - nowSeconds(hub.clock) + 1) * 1000);
        expect(await hub.deps.sessions.get(signed.record.sid)).toBeNull();
        expect((await php.request('/whoami.php', cookie)).status).toBe(200);
        expect(await projections.purgeExpired()).toBeGreaterThanOrEqual(1);
        expect((await php.request('/whoami.php', cookie)).status).toBe(401);
      });
    });
  }
});
