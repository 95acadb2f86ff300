/**
 * What every hub request gets from its first middlewares, which are kept cheap on purpose
 * (bench/README.md): an id (answered in `X-Request-Id`, carried by every line the request logs),
 * exactly one access line with fixed fields, and the security headers; and routing that reaches
 * the same routes by the shortcut for exact paths as by the router for everything else.
 */
import { mintHandoff } from '../../src/core/tokens/handoff';
import { Browser, HUB, SHOP, SHOP_HOST, signedInSession, startHandoffHub, type HandoffHub } from './handoff-support';

describe('request id, access line and routing', () => {
  let hub: HandoffHub;
  let browser: Browser;
  beforeAll(async () => {
    hub = await startHandoffHub();
    browser = new Browser(hub.url);
  });
  afterAll(() => hub.close());
  beforeEach(() => hub.logs.clear());

  it('writes one access line per request, with fixed fields, under the id it answers', async () => {
    const res = await browser.get(hub.ownHost, '/healthz?probe=1');
    const id = res.headers['x-request-id'];
    expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/);
    const access = hub.logs.lines.filter((line) => line.msg === 'request');
    expect(access).toHaveLength(1);
    expect(access[0]).toEqual({ level: 30, time: expect.any(String), service: 'tessera', requestId: id, method: 'GET', path: '/healthz', status: 200, ms: expect.any(Number), msg: 'request' });
    expect(Object.keys(access[0]!)).toEqual(['level', 'time', 'service', 'requestId', 'method', 'path', 'status', 'ms', 'msg']);
  });

  it('gives each request its own id, and a route\'s own lines carry it', async () => {
    const session = await signedInSession(hub);
    const token = mintHandoff(hub.deps.keyring, { audience: SHOP, sid: session.record.sid, sub: session.user.id, src: 'hub.example.com' }, { clock: hub.clock, issuer: HUB });
    const accepted = await browser.get(SHOP_HOST, `/shared-session/${token}.js`, { referer: `${HUB}/` });
    const other = await browser.get(hub.ownHost, '/healthz');
    expect(accepted.status).toBe(200);
    const id = accepted.headers['x-request-id'];
    expect(other.headers['x-request-id']).not.toBe(id);
    const own = hub.logs.lines.filter((line) => line.requestId === id);
    expect(own.map((line) => line.msg)).toEqual(['handoff accepted', 'request']);
    expect(own[1]).toMatchObject({ path: '/shared-session/[token].js', status: 200 });
  });

  it('reaches routes by exact path, HEAD, another letter case, a trailing slash and path parameters', async () => {
    for (const path of ['/healthz', '/HEALTHZ', '/healthz/']) {
      const res = await browser.get(hub.ownHost, path);
      expect([path, res.status, res.body]).toEqual([path, 200, '{"status":"ok"}']);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
    }
    expect((await browser.request(hub.ownHost, 'HEAD', '/healthz')).status).toBe(200);
    // Routed (the admin API refuses the missing token), not a 404.
    const admin = await browser.get(hub.ownHost, '/api/v1/admin/sessions/AAAAAAAAAAAAAAAAAAAAAA');
    expect(admin.status).toBe(401);
    const wrongMethod = await browser.request(hub.ownHost, 'DELETE', '/healthz');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toContain('GET');
  });
});
