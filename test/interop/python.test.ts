/**
 * The Python guide (docs/integrations/python.md) proven with Debian's /usr/bin/python3, PyJWT and
 * redis-py against the real hub over HTTP: examples/python/tessera_handoff.py verifies hub tokens
 * through the hub's JWKS and refuses every bad one with a reason code and no traceback; sees a key
 * rotation through PyJWKClient's refresh, without refetching for unknown kids; the Flask and
 * Django receivers take a token from a real bounce through the hub and refuse its replay;
 * projection_reader.py reads the JSON projection the hub writes as a site's receiver, until the
 * session is revoked. Redis is real (random key prefixes); times are real, since PyJWT uses them.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/load';
import { FrozenClock, nowSeconds, type Clock } from '../../src/core/clock';
import { jwkMembers, jwkThumbprint } from '../../src/core/keys/jwk';
import type { SigningKey } from '../../src/core/keys/keyring';
import { createSessionRecord, formatCookieValue } from '../../src/core/sessions/session';
import { mintHandoff } from '../../src/core/tokens/handoff';
import { revokeSession } from '../../src/hub/revocation/revoke';
import { closeRedisClient, createRedisClient, type RedisClient } from '../../src/stores/redis/client';
import { RedisProjectionStore } from '../../src/stores/redis/projection-store';
import { RedisReplayStore } from '../../src/stores/redis/replay-store';
import { RedisSessionStore } from '../../src/stores/redis/session-store';
import { startTestHub, testConfig, type TestHub } from '../support/hub';
import { describeWithPython, pythonBinary, requirePython } from '../support/python';
import { describeWithRedis, redisUrl } from '../support/services';

const root = join(__dirname, '..', '..');
const HUB = 'https://hub.example.com';
const HUB_HOST = 'hub.example.com';
const SITE = 'https://www.example.org';
const OTHER_SITE = 'https://shop.example.net';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a Python file with the examples and test drivers importable; never writes .pyc files next to them. */
function pythonEnv(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    PYTHONPATH: [join(root, 'examples', 'python'), join(__dirname, 'python')].join(':'),
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONUNBUFFERED: '1',
    ...extra,
  };
}

function runPython(file: string, env: Record<string, string>, stdin = '', args: string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(pythonBinary, [file, ...args], { env: pythonEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** A long-running Python process fed one line at a time, answering one stdout line per input line. */
class LineProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiting: ((line: string) => void) | null = null;
  private pending = '';
  stderr = '';

  constructor(file: string, env: Record<string, string>) {
    this.child = spawn(pythonBinary, [file], { env: pythonEnv(env) });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.pending += chunk.toString();
      const parts = this.pending.split('\n');
      this.pending = parts.pop() ?? '';
      for (const line of parts) {
        if (this.waiting) {
          const deliver = this.waiting;
          this.waiting = null;
          deliver(line);
        } else {
          this.lines.push(line);
        }
      }
    });
  }

  ask(input: string): Promise<string> {
    this.child.stdin.write(`${input}\n`);
    const ready = this.lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from ${pythonBinary}; stderr:\n${this.stderr}`)), 15_000);
      this.waiting = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
    });
  }

  /** Closes stdin and resolves with the exit status. */
  end(): Promise<number | null> {
    return new Promise((resolve) => {
      this.child.once('close', resolve);
      this.child.stdin.end();
    });
  }
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** A compact JWS with any header and payload, RS256-signed with `key` (or unsigned for alg none). */
function forge(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject | null): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${key === null ? '' : sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

/** `token` with header members changed; the signature is left as it was (now wrong, or beside the point). */
function withHeader(token: string, change: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  return `${b64({ ...(JSON.parse(Buffer.from(header, 'base64url').toString()) as object), ...change })}.${payload}.${signature}`;
}

/** `token` signed again, unchanged, by `key`. */
function resign(token: string, key: KeyObject): string {
  const input = token.split('.').slice(0, 2).join('.');
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

/** A GET to the hub under another host name (fetch would drop the Host header). */
function getAs(hubUrl: string, host: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; setCookies: string[] }> {
  const { port } = new URL(hubUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, setCookies: res.headers['set-cookie'] ?? [] }));
    });
    req.on('error', reject);
    req.end();
  });
}

const verifierScript = join(root, 'examples', 'python', 'tessera_handoff.py');
const fetchedJwks = (stderr: string): number => stderr.split('\n').filter((line) => line.includes("fetching the hub's JWKS")).length;

const describeWithInterpreter = describeWithPython('Python interop suite');

describeWithInterpreter('Python interop (examples/python/)', () => {
  // The examples keep spent token ids in Redis: without it there is nothing to run.
  describeWithRedis('against the real hub, with Redis', () => {
    let hub: TestHub;
    let redis: RedisClient;
    let env: Record<string, string>;
    const jtiPrefix = `tessera-test:${randomBytes(6).toString('hex')}:python-jti:`;
    let sid: string;
    let hubCookie: string;
    let userId: string;

    beforeAll(async () => {
      if (process.env.CI === 'true') requirePython();
      // PyJWT checks times against the real clock, so the hub's frozen clock starts at real time.
      hub = await startTestHub({
        clock: new FrozenClock(Date.now()),
        config: testConfig({ TESSERA_SITES: JSON.stringify([{ origin: SITE, claims: ['email'] }, { origin: OTHER_SITE }]) }),
      });
      const user = await hub.deps.users.create({ email: 'ada@example.org', name: 'Ada', roles: ['editor'] });
      userId = user.id;
      const created = createSessionRecord({ userId: user.id, ip: null, userAgent: null, now: nowSeconds(hub.clock) }, hub.deps.config.sessions);
      await hub.deps.sessions.create(created.record);
      sid = created.record.sid;
      hubCookie = formatCookieValue(created.record.sid, created.secret);
      redis = createRedisClient(redisUrl);
      env = {
        TESSERA_HUB_URL: HUB,
        TESSERA_SITE_ORIGIN: SITE,
        TESSERA_JWKS_URL: `${hub.url}/.well-known/jwks.json`,
        REDIS_URL: redisUrl,
        TESSERA_JTI_PREFIX: jtiPrefix,
      };
    });

    afterAll(async () => {
      await hub?.close();
      if (redis) {
        const keys = await (redis as Redis).keys(`${jtiPrefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        await closeRedisClient(redis);
      }
    });

    /** A handoff token as the hub mints it for `audience` (default: the Python site). */
    function mint(options: { audience?: string; issuer?: string; clock?: Clock; signer?: SigningKey } = {}): string {
      const signer = options.signer ? { signingKey: () => options.signer! } : hub.deps.keyring;
      return mintHandoff(
        signer,
        { audience: options.audience ?? SITE, sid, sub: userId, src: HUB_HOST, identity: { email: 'ada@example.org' } },
        { clock: options.clock ?? hub.clock, issuer: options.issuer ?? HUB },
      );
    }

    const jtiOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;

    describe('tessera_handoff.py (PyJWKClient, jti in Redis)', () => {
      it('verifies a hub token through the JWKS, returns its claims and spends its jti with SET NX EX', async () => {
        const token = mint();
        const run = await runPython(verifierScript, env, `${token}\n`);
        expect(run.stderr).not.toContain('Traceback');
        expect(run.status).toBe(0);
        const [verdict, json] = [run.stdout.slice(0, 9), run.stdout.slice(9)];
        expect(verdict).toBe('accepted ');
        const now = nowSeconds(hub.clock);
        expect(JSON.parse(json)).toEqual({ iss: HUB, aud: SITE, sub: userId, sid, src: HUB_HOST, dst: 'www.example.org', iat: now, exp: now + 30, jti: jtiOf(token), email: 'ada@example.org' });
        expect(await redis.get(`${jtiPrefix}${jtiOf(token)}`)).toBe('1');
        const ttl = await redis.ttl(`${jtiPrefix}${jtiOf(token)}`);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(37);
      });

      it('refuses a replay, in the same process and in another one (the jti lives in Redis)', async () => {
        const token = mint();
        const first = await runPython(verifierScript, env, `${token}\n${token}\n`);
        expect(first.stdout.split('\n')[0]).toMatch(/^accepted /);
        expect(first.stdout.split('\n')[1]).toBe('rejected ERR_HANDOFF_REPLAYED: token already used');
        expect(first.status).toBe(1);
        const second = await runPython(verifierScript, env, `${token}\n`);
        expect(second.stdout).toBe('rejected ERR_HANDOFF_REPLAYED: token already used\n');
        expect(second.stderr).toContain('rejected ERR_HANDOFF_REPLAYED');
        expect(second.stderr).not.toContain('Traceback');
        expect(second.status).toBe(1);
      });

      const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const cases: Array<[string, string, () => string]> = [
        ['another site as audience', 'ERR_HANDOFF_AUDIENCE', () => mint({ audience: OTHER_SITE })],
        ['another issuer', 'ERR_HANDOFF_ISSUER', () => mint({ issuer: 'https://evil.example' })],
        ['an expired token', 'ERR_HANDOFF_EXPIRED', () => mint({ clock: new FrozenClock(hub.clock.now() - 10 * 60_000) })],
        ['a token issued in the future', 'ERR_HANDOFF_IAT_FUTURE', () => mint({ clock: new FrozenClock(hub.clock.now() + 10 * 60_000) })],
        ['alg none', 'ERR_HANDOFF_ALG', () => `${withHeader(mint(), { alg: 'none' }).split('.').slice(0, 2).join('.')}.`],
        ['HS256 with the public key as secret', 'ERR_HANDOFF_ALG', () => withHeader(mint(), { alg: 'HS256' })],
        ['a logout token type', 'ERR_HANDOFF_TYP', () => forge({ alg: 'RS256', typ: 'logout+jwt', kid: hub.deps.keyring.signingKey().kid }, {}, hub.deps.keyring.signingKey().privateKey)],
        ['a jku header', 'ERR_HANDOFF_HEADER_FORBIDDEN', () => forge({ alg: 'RS256', typ: 'handoff+jwt', kid: hub.deps.keyring.signingKey().kid, jku: 'https://evil.example/jwks' }, {}, otherKey)],
        ['a kid that is not a kid', 'ERR_HANDOFF_KID_MALFORMED', () => forge({ alg: 'RS256', typ: 'handoff+jwt', kid: '../../etc/passwd' }, {}, otherKey)],
        ["the hub's kid signed by another key", 'ERR_HANDOFF_SIGNATURE', () => resign(mint(), otherKey)],
        ['a duplicated claim', 'ERR_HANDOFF_DUPLICATE_CLAIM', () => `${b64({ alg: 'RS256', typ: 'handoff+jwt', kid: hub.deps.keyring.signingKey().kid })}.${Buffer.from('{"aud":"x","aud":"y"}').toString('base64url')}.c2ln`],
        ['garbage', 'ERR_HANDOFF_MALFORMED', () => 'not-a-token'],
        ['an oversize token', 'ERR_HANDOFF_OVERSIZE', () => 'a'.repeat(5000)],
      ];

      it.each(cases)('refuses %s with %s, a clear line and no traceback, spending nothing', async (_name, code, make) => {
        const token = make();
        const run = await runPython(verifierScript, env, `${token}\n`);
        expect(run.status).toBe(1);
        expect(run.stdout).toMatch(new RegExp(`^rejected ${code}: [^\\n]+\\n$`));
        expect(run.stderr).toContain(`rejected ${code}: `);
        expect(run.stderr).not.toContain('Traceback');
        expect(run.stderr).not.toContain(token.slice(0, 40));
        const payload = token.split('.')[1];
        const jti = payload ? (JSON.parse(Buffer.from(payload, 'base64url').toString() || '{}') as { jti?: string }).jti : undefined;
        if (jti !== undefined) expect(await redis.exists(`${jtiPrefix}${jti}`)).toBe(0);
      });

      it('follows a key rotation: a token of the new key verifies after PyJWKClient refreshes; an unknown kid fails without a refetch storm', async () => {
        const verifier = new LineProcess(verifierScript, env);
        try {
          const oldSigner = hub.deps.keyring.signingKey();
          expect(await verifier.ask(mint())).toMatch(/^accepted /);
          expect(fetchedJwks(verifier.stderr)).toBe(1);

          // Rotate (publish the next key), then retire the old one now: the new key signs at once,
          // before this verifier's cached JWKS (300 s) knows it.
          await hub.deps.keyring.rotate();
          await hub.deps.keyring.retire(oldSigner.kid);
          const newKid = hub.deps.keyring.signingKey().kid;
          expect(newKid).not.toBe(oldSigner.kid);
          const fresh = mint();
          expect(JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString())).toMatchObject({ kid: newKid });
          expect(await verifier.ask(fresh)).toMatch(/^accepted /);
          expect(fetchedJwks(verifier.stderr)).toBe(2);

          // A token the old key signed before it retired still verifies: the hub keeps it published.
          expect(await verifier.ask(mint({ signer: oldSigner }))).toMatch(/^accepted /);

          // A kid the hub never published: refused cleanly, and within the cooldown no refetch.
          const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
          const strangerKid = jwkThumbprint(jwkMembers(stranger.publicKey));
          const now = nowSeconds(hub.clock);
          const unknown = forge(
            { alg: 'RS256', typ: 'handoff+jwt', kid: strangerKid },
            { iss: HUB, aud: SITE, sid, src: HUB_HOST, dst: 'www.example.org', iat: now, exp: now + 30, jti: randomBytes(16).toString('base64url') },
            stranger.privateKey,
          );
          expect(await verifier.ask(unknown)).toBe('rejected ERR_HANDOFF_KID_UNKNOWN: no published key has this kid');
          expect(await verifier.ask(unknown)).toBe('rejected ERR_HANDOFF_KID_UNKNOWN: no published key has this kid');
          expect(fetchedJwks(verifier.stderr)).toBe(2);
          expect(verifier.stderr).not.toContain('Traceback');
        } finally {
          expect(await verifier.end()).toBe(1);
        }
      });
    });

    describe('receivers: a real bounce through the hub, then a replay', () => {
      const driverEnv = (): Record<string, string> => ({ ...env, HUB_REAL_URL: hub.url, HUB_COOKIE: hubCookie, FLASK_SECRET_KEY: randomBytes(32).toString('hex') });

      interface DriverResult {
        start: { status: number; location: string; cookie?: string };
        accept: { path: string; status: number; location: string };
        home: Record<string, unknown>;
        replay: { status: number; body: string };
        wrong_state: { status: number; body: string };
        csrf?: number;
      }

      async function drive(script: string): Promise<DriverResult> {
        const run = await runPython(join(__dirname, 'python', script), driverEnv());
        if (run.status !== 0) throw new Error(`${script} failed:\n${run.stderr}`);
        return JSON.parse(run.stdout) as DriverResult;
      }

      function expectBounce(result: DriverResult): void {
        expect(result.start.status).toBe(303);
        const hubUrl = new URL(result.start.location);
        expect(`${hubUrl.origin}${hubUrl.pathname}`).toBe(`${HUB}/handoff`);
        expect(hubUrl.searchParams.get('dst')).toBe(SITE);
        expect(hubUrl.searchParams.get('return_to')).toBe(`${SITE}/basket?x=1`);
        expect(hubUrl.searchParams.get('prompt')).toBe('none');
        expect(hubUrl.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(result.accept).toEqual({ path: '/shared-session/accept', status: 303, location: '/basket?x=1' });
        expect(result.replay.status).toBe(400);
        expect(result.replay.body).toContain('ERR_HANDOFF_REPLAYED');
        expect(result.wrong_state.status).toBe(400);
        expect(result.wrong_state.body).toContain('ERR_HANDOFF_STATE');
      }

      it('Flask (examples/python/flask_site.py): state cookie, accept fills the session, replay refused', async () => {
        const result = await drive('drive_flask.py');
        expectBounce(result);
        expect(result.start.cookie).toMatch(/^tessera_state=[A-Za-z0-9_-]{43};/);
        for (const attribute of ['Secure', 'HttpOnly', 'Max-Age=600', 'Path=/shared-session/', 'SameSite=None']) expect(result.start.cookie).toContain(attribute);
        expect(result.home).toEqual({ signed_in: true, sub: userId, email: 'ada@example.org', src: HUB_HOST });
      });

      it('Django (examples/python/django_tessera.py): the same, with CSRF checks on for everything else', async () => {
        const result = await drive('drive_django.py');
        expectBounce(result);
        expect(result.home).toEqual({ tessera: { sid, sub: userId, email: 'ada@example.org', src: HUB_HOST } });
        expect(result.csrf).toBe(403);
      });
    });

    describe('projection_reader.py: the JSON projection the hub (as receiver) writes in Redis', () => {
      const APP = 'https://app.example.net';
      const prefix = `tessera-test:${randomBytes(6).toString('hex')}:python-projection:`;
      let projectedHub: TestHub;
      let client: RedisClient | undefined;

      beforeAll(async () => {
        // examples/python/tessera.yaml as the operator writes it, but with the projection keys under
        // this test's own prefix.
        const file = join(root, 'examples', 'python', 'tessera.yaml');
        const example = loadConfig({ env: {}, file }).config;
        expect(example.sites.find((site) => site.origin === APP)?.projection?.format).toBe('json');
        const sites = example.sites.map((site) => ({
          origin: site.origin,
          claims: site.claims,
          ...(site.projection ? { projection: { format: site.projection.format, fields: site.projection.fields, keyPrefix: `${prefix}json:` } } : {}),
        }));
        const clock = new FrozenClock(Date.now());
        client = createRedisClient(redisUrl);
        projectedHub = await startTestHub({
          clock,
          config: loadConfig({ env: { TESSERA_SITES: JSON.stringify(sites), TESSERA_LOG_LEVEL: 'silent' }, file }).config,
          sessions: new RedisSessionStore(client, { clock, prefix }),
          replay: new RedisReplayStore(client, { clock, prefix }),
          projections: new RedisProjectionStore(client, { clock, prefix }),
        });
      });

      afterAll(async () => {
        await projectedHub?.close();
        if (client === undefined) return;
        const keys = await (client as Redis).keys(`${prefix}*`);
        if (keys.length > 0) await client.del(...keys);
        await closeRedisClient(client);
      });

      it('reads who is signed in from Redis after a beacon, and nobody once the session is revoked', async () => {
        const h = projectedHub;
        const user = await h.deps.users.create({ email: 'lin@example.org', name: 'Lin', roles: [] });
        const { record } = createSessionRecord({ userId: user.id, ip: null, userAgent: null, now: nowSeconds(h.clock) }, h.deps.config.sessions);
        await h.deps.sessions.create(record);
        const token = mintHandoff(h.deps.keyring, { audience: APP, sid: record.sid, sub: user.id, src: 'login.example.com', identity: { email: user.email, name: 'Lin' } }, { clock: h.clock, issuer: 'https://login.example.com' });
        const beacon = await getAs(h.url, 'app.example.net', `/shared-session/${token}.js`, { referer: 'https://login.example.com/' });
        expect(beacon.status).toBe(200);
        const cookieValue = /^tessera_session=([^;]+)/.exec(beacon.setCookies[0] ?? '')?.[1];
        expect(cookieValue).toMatch(/^[0-9a-f]{32}-[0-9a-f]{64}$/);

        const reader = join(root, 'examples', 'python', 'projection_reader.py');
        const readerEnv = { REDIS_URL: redisUrl, TESSERA_PROJECTION_PREFIX: `${prefix}json:` };
        const signedIn = await runPython(reader, readerEnv, '', [cookieValue!]);
        expect(signedIn.stderr).toBe('');
        expect(signedIn.status).toBe(0);
        expect(JSON.parse(signedIn.stdout)).toEqual({ sub: user.id, sid: record.sid, email: 'lin@example.org', name: 'Lin' });

        // Not a cookie the hub sets: never turned into a key.
        const forged = await runPython(reader, readerEnv, '', ['*']);
        expect({ status: forged.status, stdout: forged.stdout }).toEqual({ status: 1, stdout: 'signed out\n' });

        await revokeSession(h.deps, record.sid, 'admin', 'test');
        const revoked = await runPython(reader, readerEnv, '', [cookieValue!]);
        expect({ status: revoked.status, stdout: revoked.stdout, stderr: revoked.stderr }).toEqual({ status: 1, stdout: 'signed out\n', stderr: '' });
      });
    });
  });
});
