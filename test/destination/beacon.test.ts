/**
 * Beacons reaching a site running the SDK: the session they set, the headers and cookie, the
 * `session_replaced` event and webhook, the link report, and django-shared-session's
 * replacement rules.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FrozenClock } from '../../src/core/clock';
import { TRANSPARENT_GIF, type SessionReplacedEvent } from '../../src/core/receiver/receiver';
import { Browser, cookieAttributes, newSid, startKoaSite, startStandInHub, testTls, type StandInHub, type TestSite, type Tls } from './support';

let tls: Tls;
let hub: StandInHub;
let site: TestSite;
let events: SessionReplacedEvent[];

beforeAll(async () => {
  tls = await testTls();
  hub = await startStandInHub(tls, new FrozenClock(Date.now()));
});

afterAll(() => hub.close());

beforeEach(async () => {
  events = [];
  hub.beaconCalls.length = 0;
  hub.linkCalls.length = 0;
  site = await startKoaSite(tls, hub, { onSessionReplaced: (event) => void events.push(event) });
});

afterEach(() => site.close());

/** Lets fire-and-forget calls (webhooks) arrive. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 100));
}

describe('a script beacon', () => {
  it('sets the site session from a fresh token: 200 javascript, receiver headers, cookie attributes', async () => {
    const browser = new Browser(tls);
    const sid = newSid();
    const token = hub.mint({ audience: site.url, sid, sub: 'user-7', identity: { email: 'ada@example.org' } });
    const res = await browser.get(`${site.url}/shared-session/${token}.js`);

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/javascript; charset=utf-8');
    expect(res.body).toBe('/* tessera */\n');
    expect(res.headers).toMatchObject({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' });
    const cookie = cookieAttributes(res.setCookies, 'tessera_site');
    expect(cookie).toEqual({ path: '/', samesite: 'none', secure: '', httponly: '' });
    expect(browser.cookies.get('tessera_site')?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const me = await browser.whoami(site);
    expect(me.tessera).toEqual({ sid, sub: 'user-7', claims: { email: 'ada@example.org' }, src: hub.host });
    expect(me.session).toMatchObject({ tessera: { sid, sub: 'user-7', claims: { email: 'ada@example.org' }, src: hub.host, receivedAt: Math.floor(hub.clock.now() / 1000) } });
  });

  it('emits session_replaced and reports the link to the hub with the credential', async () => {
    const browser = new Browser(tls);
    const sid = newSid();
    const token = hub.mint({ audience: site.url, sid, sub: 'user-7' });
    await browser.get(`${site.url}/shared-session/${token}.js`);
    await settle();
    expect(events).toEqual([{ type: 'session_replaced', site: site.url, src: hub.host, sid, wasEmpty: true, at: Math.floor(hub.clock.now() / 1000) }]);
    expect(hub.linkCalls).toEqual([{ sid, token, authorization: `Bearer ${hub.credential}` }]);
  });

  it('keeps an anonymous session: sub null, claims empty', async () => {
    const browser = new Browser(tls);
    const sid = newSid();
    await browser.get(`${site.url}/shared-session/${hub.mint({ audience: site.url, sid, sub: null })}.js`);
    expect((await browser.whoami(site)).tessera).toEqual({ sid, sub: null, claims: {}, src: hub.host });
  });

  it('indexes the local session under its sid, and destroySessions ends it', async () => {
    const browser = new Browser(tls);
    const other = new Browser(tls);
    const sid = newSid();
    await browser.get(`${site.url}/shared-session/${hub.mint({ audience: site.url, sid, sub: 'u' })}.js`);
    await other.get(`${site.url}/shared-session/${hub.mint({ audience: site.url, sid, sub: 'u' })}.js`);
    expect(await site.destination.destroySessions(sid)).toBe(2);
    expect((await browser.whoami(site)).tessera).toBeNull();
    expect((await other.whoami(site)).tessera).toBeNull();
    expect(await site.destination.destroySessions(sid)).toBe(0);
  });
});

describe('an image beacon', () => {
  it('answers a 1×1 GIF and sets the session', async () => {
    const browser = new Browser(tls);
    const sid = newSid();
    const res = await browser.get(`${site.url}/shared-session/${hub.mint({ audience: site.url, sid, sub: 'user-7' })}.gif`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/gif');
    expect(res.raw).toEqual(TRANSPARENT_GIF);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(((await browser.whoami(site)).tessera as { sid: string }).sid).toBe(sid);
  });
});

describe('replacement semantics', () => {
  async function signIn(browser: Browser, sid: string, sub: string, target: TestSite = site): Promise<void> {
    const res = await browser.get(`${target.url}/shared-session/${hub.mint({ audience: target.url, sid, sub })}.js`);
    expect(res.status).toBe(200);
  }

  it('leaves a live session of the same sid alone: no cookie, no event, jti still spent', async () => {
    const browser = new Browser(tls);
    const sid = newSid();
    await signIn(browser, sid, 'user-7');
    const before = browser.cookies.get('tessera_site')?.value;
    events.length = 0;
    const token = hub.mint({ audience: site.url, sid, sub: 'user-7', identity: { email: 'changed@example.org' } });
    const res = await browser.get(`${site.url}/shared-session/${token}.js`);
    expect(res.status).toBe(200);
    expect(res.setCookies).toEqual([]);
    expect(browser.cookies.get('tessera_site')?.value).toBe(before);
    expect((await browser.whoami(site)).tessera).toMatchObject({ claims: {} });
    expect(events).toEqual([]);
    expect((await browser.get(`${site.url}/shared-session/${token}.js`)).status).toBe(400);
  });

  it('keeps a live session of another sid unless alwaysReplace', async () => {
    const browser = new Browser(tls);
    const first = newSid();
    await signIn(browser, first, 'user-7');
    events.length = 0;
    await signIn(browser, newSid(), 'user-8');
    expect((await browser.whoami(site)).tessera).toMatchObject({ sid: first, sub: 'user-7' });
    expect(events).toEqual([]);
  });

  it('with alwaysReplace, replaces another live sid under a new key and drops the old data', async () => {
    const replacing = await startKoaSite(tls, hub, { alwaysReplace: true, onSessionReplaced: (event) => void events.push(event) });
    try {
      const browser = new Browser(tls);
      await signIn(browser, newSid(), 'user-7', replacing);
      const oldKey = browser.cookies.get('tessera_site')?.value;
      events.length = 0;
      const second = newSid();
      await signIn(browser, second, 'user-8', replacing);
      expect(browser.cookies.get('tessera_site')?.value).not.toBe(oldKey);
      expect((await browser.whoami(replacing)).tessera).toMatchObject({ sid: second, sub: 'user-8' });
      expect(events).toEqual([expect.objectContaining({ sid: second, wasEmpty: false })]);
    } finally {
      await replacing.close();
    }
  });

  it('replaces a dead session (ended locally) as empty', async () => {
    const browser = new Browser(tls);
    const first = newSid();
    await signIn(browser, first, 'user-7');
    await site.destination.destroySessions(first);
    events.length = 0;
    const second = newSid();
    await signIn(browser, second, 'user-8');
    expect((await browser.whoami(site)).tessera).toMatchObject({ sid: second });
    expect(events).toEqual([expect.objectContaining({ sid: second, wasEmpty: true })]);
  });

  it('gives an anonymous local session holding app data a new key, keeping the data', async () => {
    const browser = new Browser(tls);
    const withBasket = await startKoaSite(tls, hub, {}, () => [
      async (ctx, next) => {
        const session = (ctx as unknown as { session: Record<string, unknown> }).session;
        if (ctx.path === '/basket') session.basket = ['tea'];
        await next();
      },
    ]);
    try {
      await browser.get(`${withBasket.url}/basket`);
      const anonymousKey = browser.cookies.get('tessera_site')?.value;
      expect(anonymousKey).toBeDefined();
      await signIn(browser, newSid(), 'user-7', withBasket);
      expect(browser.cookies.get('tessera_site')?.value).not.toBe(anonymousKey);
      expect((await browser.whoami(withBasket)).session).toMatchObject({ basket: ['tea'], tessera: { sub: 'user-7' } });
    } finally {
      await withBasket.close();
    }
  });
});

describe('the webhook', () => {
  it('receives session_replaced as JSON', async () => {
    const received: unknown[] = [];
    const webhook = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ type: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const hooked = await startKoaSite(tls, hub, { webhookUrl: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/events` });
    try {
      const sid = newSid();
      await new Browser(tls).get(`${hooked.url}/shared-session/${hub.mint({ audience: hooked.url, sid, sub: 'u' })}.js`);
      await settle();
      expect(received).toEqual([{ type: 'application/json', body: { type: 'session_replaced', site: hooked.url, src: hub.host, sid, wasEmpty: true, at: expect.any(Number) } }]);
    } finally {
      await hooked.close();
      await new Promise((resolve) => webhook.close(resolve));
    }
  });
});
