/**
 * Issue 7, "Faults": the hub's JWKS endpoint unreachable from a destination SDK. What
 * test/destination/rejections.test.ts already covers ("keys from the JWKS"): a JWKS answering
 * 503 — cached keys keep verifying without a fetch, an unknown kid gets 503 — and 50 unknown kids
 * against a reachable JWKS cost at most the rate limit of 10 fetches. Here the endpoint is not
 * merely failing but unreachable: the connection is refused, reset, or accepted and never
 * answered (a black-holed address). The SDK reaches the stand-in hub through a TCP front that
 * counts every connection attempt, so fetches are counted even when none succeeds. Checked:
 * tokens signed by a cached key keep verifying with no fetch at all, and 50 tokens with unknown
 * kids are each refused within the SDK's hub timeout, with at most 10 connection attempts.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import net from 'node:net';
import { FrozenClock } from '../../src/core/clock';
import { mintHandoff } from '../../src/core/tokens/handoff';
import { Browser, newSid, startKoaSite, startStandInHub, testTls, type StandInHub, type TestSite, type Tls } from '../destination/support';

type Mode = 'up' | 'reset' | 'blackhole' | 'closed';

/** A TCP front for the stand-in hub: passes connections through, resets them, holds them, or is not listening. */
interface JwksFront {
  url: string;
  host: string;
  attempts: number;
  setMode(mode: Mode): Promise<void>;
  close(): Promise<void>;
}

async function startFront(hub: StandInHub): Promise<JwksFront> {
  const target = new URL(hub.url);
  let mode: Mode = 'up';
  const sockets = new Set<net.Socket>();
  const front = { attempts: 0 } as JwksFront;
  const server = net.createServer((socket) => {
    front.attempts += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (mode === 'reset') {
      socket.resetAndDestroy();
    } else if (mode === 'up') {
      const upstream = net.connect({ host: target.hostname, port: Number(target.port) });
      upstream.on('error', () => socket.destroy());
      socket.pipe(upstream).pipe(socket);
      socket.on('close', () => upstream.destroy());
    }
    // blackhole: the connection is accepted and nothing is ever answered.
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  front.url = `https://127.0.0.1:${port}`;
  front.host = `127.0.0.1:${port}`;
  front.setMode = async (next) => {
    // Connections kept alive by the SDK's agent must not outlive the change.
    for (const socket of sockets) socket.destroy();
    if (next === 'closed' && server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (next !== 'closed' && !server.listening) await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    mode = next;
  };
  front.close = async () => {
    for (const socket of sockets) socket.destroy();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return front;
}

const hubTimeoutMs = 500;
const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('JWKS endpoint unreachable from a destination SDK', () => {
  let tls: Tls;
  let hub: StandInHub;
  let front: JwksFront;
  let site: TestSite;

  beforeAll(async () => {
    tls = await testTls();
    hub = await startStandInHub(tls, new FrozenClock(Date.now()));
  });
  afterAll(() => hub.close());

  beforeEach(async () => {
    front = await startFront(hub);
    // No credential: the SDK makes no site-API calls, so every connection to the front is a JWKS fetch.
    site = await startKoaSite(tls, hub, { hubUrl: front.url, hubTimeoutMs, credential: undefined });
  });
  afterEach(async () => {
    await site.close();
    await front.close();
  });

  /** A real token from the hub's key, issued under the front's URL (the hub the SDK knows). */
  const valid = () => mintHandoff(hub.keyring, { audience: site.url, sid: newSid(), sub: 'user-1', src: front.host }, { clock: hub.clock, issuer: front.url, ttlSeconds: 30 });
  /** Correct claims, signed by a key the hub never published, under a kid nobody knows. */
  const unknownKid = () => {
    const iat = Math.floor(hub.clock.now() / 1000);
    const claims = { iss: front.url, aud: site.url, sub: 'user-1', sid: newSid(), src: front.host, dst: new URL(site.url).host, iat, exp: iat + 30, jti: newSid() };
    return hub.forge({ alg: 'RS256', typ: 'handoff+jwt', kid: randomBytes(32).toString('base64url') }, claims, otherKey.privateKey);
  };
  const beacon = async (token: string) => {
    const browser = new Browser(tls);
    const started = performance.now();
    const res = await browser.get(`${site.url}/shared-session/${token}.js`);
    return { status: res.status, cookies: res.setCookies.length, ms: performance.now() - started, session: (await browser.whoami(site)).tessera };
  };

  it.each<Mode>(['closed', 'reset', 'blackhole'])('%s: cached keys keep verifying with no fetch; 50 unknown kids fail fast with at most 10 attempts', async (mode) => {
    // The JWKS is reachable once: the SDK caches the hub's key.
    expect(await beacon(valid())).toMatchObject({ status: 200, cookies: 1 });
    expect(front.attempts).toBe(1);

    await front.setMode(mode);
    const attemptsBefore = front.attempts;

    for (let i = 0; i < 5; i++) {
      const accepted = await beacon(valid());
      expect(accepted).toMatchObject({ status: 200, cookies: 1 });
      expect(accepted.session).not.toBeNull();
    }
    expect(front.attempts).toBe(attemptsBefore);

    // 50 unknown kids at once: each refused without a cookie, none waiting longer than the
    // hub timeout; the rate limit (10 a minute, one already spent) bounds the attempts.
    const refused = await Promise.all(Array.from({ length: 50 }, () => beacon(unknownKid())));
    for (const r of refused) {
      expect([400, 503]).toContain(r.status);
      expect(r.cookies).toBe(0);
      expect(r.session).toBeNull();
    }
    // 50 TLS beacons at once take about 0.7 s here on their own; a fetch may add the timeout.
    const slowest = Math.max(...refused.map((r) => r.ms));
    // Generous for a loaded CI machine; the storm itself is bounded by the attempt counts below.
    expect(slowest).toBeLessThan(hubTimeoutMs + 6000);
    expect(front.attempts - attemptsBefore).toBeLessThanOrEqual(mode === 'closed' ? 0 : 10);
    expect(site.logger.codes().every((code) => code === 'ERR_HANDOFF_KID_UNKNOWN' || code === 'ERR_HUB_UNAVAILABLE')).toBe(true);
    expect(site.logger.codes().filter((code) => code === 'ERR_HUB_UNAVAILABLE').length).toBeLessThanOrEqual(10);

    // The cached key still verifies after the storm, still without a fetch.
    expect(await beacon(valid())).toMatchObject({ status: 200, cookies: 1 });
    expect(front.attempts - attemptsBefore).toBeLessThanOrEqual(mode === 'closed' ? 0 : 10);
    console.info(`JWKS ${mode}: 50 unknown kids refused (${refused.filter((r) => r.status === 503).length} × 503, ${refused.filter((r) => r.status === 400).length} × 400), slowest ${Math.round(slowest)} ms, ${front.attempts - attemptsBefore} connection attempts`);
  });
});
