/**
 * The framework-neutral `(req, res)` handler on plain node servers, `readSession()`, and
 * `verifyHandoff()` for frameworks that keep their own session.
 */
import http, { type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FrozenClock } from '../../src/core/clock';
import { createDestination, type Destination } from '../../src/destination';
import { Browser, RecordingLogger, listenHttps, newSid, startStandInHub, testTls, type HttpsServer, type StandInHub, type Tls } from './support';

let tls: Tls;
let hub: StandInHub;

beforeAll(async () => {
  tls = await testTls();
  hub = await startStandInHub(tls, new FrozenClock(Date.now()));
});

afterAll(() => hub.close());

describe('handler() on a node https server', () => {
  let server: HttpsServer;
  let destination: Destination;
  let appRequests: string[];

  beforeEach(async () => {
    appRequests = [];
    const listener: { current: RequestListener } = { current: () => undefined };
    server = await listenHttps(tls, listener);
    destination = createDestination({ hubUrl: hub.url, siteOrigin: server.url, ca: tls.cert, clock: hub.clock, logger: new RecordingLogger() });
    listener.current = async (req, res) => {
      if (await destination.handler(req, res)) return;
      appRequests.push(req.url ?? '');
      const session = await destination.readSession(req);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ tessera: session }));
    };
  });

  afterEach(async () => {
    await destination.close();
    await server.close();
  });

  it('answers receiver paths and sets the session that readSession then reads', async () => {
    const browser = new Browser(tls);
    const sid = newSid();
    const res = await browser.get(`${server.url}/shared-session/${hub.mint({ audience: server.url, sid, sub: 'user-7', identity: { name: 'Ada' } })}.js`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.setCookies).toHaveLength(1);
    expect(appRequests).toEqual([]);
    expect(JSON.parse((await browser.get(`${server.url}/account`)).body)).toEqual({ tessera: { sid, sub: 'user-7', claims: { name: 'Ada' }, src: hub.host } });
  });

  it('resolves false and leaves the response alone for every other path', async () => {
    const browser = new Browser(tls);
    for (const path of ['/', '/shared-session/', '/shared-session/unknown', '/shared-session/not-a-token.js', '/shared-session/session.json', '/other/loader.js']) {
      expect((await browser.get(`${server.url}${path}`)).status).toBe(200);
    }
    expect(appRequests).toEqual(['/', '/shared-session/', '/shared-session/unknown', '/shared-session/not-a-token.js', '/shared-session/session.json', '/other/loader.js']);
  });

  it('runs the bounce: start, then accept', async () => {
    const browser = new Browser(tls);
    const start = await browser.get(`${server.url}/shared-session/start?return_to=/account`);
    const state = new URL(start.headers.location!).searchParams.get('state')!;
    const sid = newSid();
    const back = await browser.post(`${server.url}/shared-session/accept`, { token: hub.mint({ audience: server.url, sid, sub: 'u' }), state, return_to: '/account' });
    expect(back.status).toBe(303);
    expect(back.headers.location).toBe(`${server.url}/account`);
    expect(JSON.parse((await browser.get(`${server.url}/account`)).body)).toMatchObject({ tessera: { sid } });
  });

  it('readSession ignores a cookie naming no stored session', async () => {
    const browser = new Browser(tls);
    browser.cookies.set('tessera_site', { value: 'A'.repeat(43), path: '/' });
    expect(JSON.parse((await browser.get(`${server.url}/account`)).body)).toEqual({ tessera: null });
  });
});

describe('handler() behind a TLS-terminating proxy (plain http inside)', () => {
  async function plainServer(trustProxy: boolean): Promise<{ url: string; destination: Destination; logger: RecordingLogger; close(): Promise<void> }> {
    const logger = new RecordingLogger();
    let destination: Destination | null = null;
    const server = http.createServer((req, res) => {
      void destination!.handler(req, res).then((handled) => handled || res.writeHead(404).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    // The public origin is https; the proxy forwards plain http to this port.
    destination = createDestination({ hubUrl: hub.url, siteOrigin: 'https://www.example.org', ca: tls.cert, clock: hub.clock, logger, trustProxy });
    return {
      url: `http://127.0.0.1:${port}`,
      destination,
      logger,
      close: async () => {
        await destination!.close();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }

  it('refuses to set a Secure cookie on a request it cannot count as HTTPS, saying why', async () => {
    const site = await plainServer(false);
    try {
      const token = hub.mint({ audience: 'https://www.example.org', sid: newSid(), sub: 'u' });
      const res = await fetch(`${site.url}/shared-session/${token}.js`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(res.status).toBe(500);
      expect(res.headers.getSetCookie()).toEqual([]);
      expect(site.logger.lines.filter((l) => l.level !== 'info')).toEqual([expect.objectContaining({ level: 'error', fields: expect.objectContaining({ code: 'ERR_CONFIG_INVALID', err: expect.stringContaining('app.proxy = true') }) })]);
    } finally {
      await site.close();
    }
  });

  it('with trustProxy, takes X-Forwarded-Proto and sets the cookie', async () => {
    const site = await plainServer(true);
    try {
      const token = hub.mint({ audience: 'https://www.example.org', sid: newSid(), sub: 'u' });
      const res = await fetch(`${site.url}/shared-session/${token}.js`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(res.status).toBe(200);
      expect(res.headers.getSetCookie()).toEqual([expect.stringMatching(/^tessera_site=[A-Za-z0-9_-]{43}; path=\/; samesite=none; secure; httponly$/)]);
    } finally {
      await site.close();
    }
  });
});

describe('verifyHandoff()', () => {
  it('returns the session for a good token, spends its jti, and rejects by code', async () => {
    const destination = createDestination({ hubUrl: hub.url, siteOrigin: 'https://www.example.org', sites: ['https://shop.example.net'], ca: tls.cert, clock: hub.clock, logger: new RecordingLogger() });
    try {
      const sid = newSid();
      const token = hub.mint({ audience: 'https://www.example.org', sid, sub: 'user-7', src: 'shop.example.net', identity: { roles: ['editor'] } });
      await expect(destination.verifyHandoff(token, { referer: 'https://evil.example/' })).rejects.toMatchObject({ code: 'ERR_HANDOFF_REFERER' });
      await expect(destination.verifyHandoff(token, { referer: 'https://shop.example.net/basket' })).resolves.toEqual({ sid, sub: 'user-7', claims: { roles: ['editor'] }, src: 'shop.example.net' });
      await expect(destination.verifyHandoff(token)).rejects.toMatchObject({ code: 'ERR_HANDOFF_REPLAYED' });
    } finally {
      await destination.close();
    }
  });
});
