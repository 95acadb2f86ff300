/**
 * The redirect bounce on a site running the SDK: `start`, `requireSession()`, `accept` by form
 * POST and by redirect, the state cookie, and `login_required` never leading to a loop.
 */
import type Koa from 'koa';
import { FrozenClock } from '../../src/core/clock';
import type { Destination, RequireSessionOptions } from '../../src/destination';
import { Browser, cookieAttributes, newSid, startKoaSite, startStandInHub, testTls, type StandInHub, type TestSite, type Tls } from './support';

let tls: Tls;
let hub: StandInHub;
let site: TestSite;

beforeAll(async () => {
  tls = await testTls();
  hub = await startStandInHub(tls, new FrozenClock(Date.now()));
});

afterAll(() => hub.close());

/** `/protected…` behind requireSession(settings); everything else open. */
function guarded(settings?: RequireSessionOptions): (destination: Destination) => Koa.Middleware[] {
  return (destination) => {
    const guard = destination.requireSession(settings);
    return [(ctx, next) => (ctx.path.startsWith('/protected') ? guard(ctx, next) : next())];
  };
}

beforeEach(async () => {
  hub.linkCalls.length = 0;
  site = await startKoaSite(tls, hub, {}, guarded());
});

afterEach(() => site.close());

/** Where a 303 to the hub's /handoff points, with its query. */
function handoffTarget(location: string | undefined): { url: string; query: Record<string, string> } {
  const url = new URL(location ?? '');
  return { url: `${url.origin}${url.pathname}`, query: Object.fromEntries(url.searchParams) };
}

describe('start', () => {
  it('sets the state cookie and 303s to the hub with dst, return_to, state and prompt', async () => {
    const browser = new Browser(tls);
    const res = await browser.get(`${site.url}/shared-session/start?return_to=${encodeURIComponent('/articles/1?x=2')}&prompt=login`);
    expect(res.status).toBe(303);
    expect(res.headers).toMatchObject({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' });
    const state = browser.cookies.get('tessera_state')?.value;
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookieAttributes(res.setCookies, 'tessera_state')).toEqual({ path: '/shared-session/', 'max-age': '600', httponly: '', secure: '', samesite: 'None' });
    expect(handoffTarget(res.headers.location)).toEqual({
      url: `${hub.url}/handoff`,
      query: { dst: site.url, return_to: `${site.url}/articles/1?x=2`, state, prompt: 'login' },
    });
  });

  it('sends a return_to on another origin back to the site root, and defaults prompt to none', async () => {
    const res = await new Browser(tls).get(`${site.url}/shared-session/start?return_to=${encodeURIComponent('https://evil.example/')}`);
    expect(handoffTarget(res.headers.location).query).toMatchObject({ return_to: `${site.url}/`, prompt: 'none' });
  });

  it('sends a return_to on this origin with userinfo back to the site root, as the hub would', async () => {
    for (const returnTo of [`https://user:pass@${site.host}/account`, `https://user@${site.host}/account`, `https://:pass@${site.host}/`]) {
      const res = await new Browser(tls).get(`${site.url}/shared-session/start?return_to=${encodeURIComponent(returnTo)}`);
      expect(res.status).toBe(303);
      expect(handoffTarget(res.headers.location).query).toMatchObject({ return_to: `${site.url}/` });
    }
  });

  it('refuses an unknown prompt', async () => {
    const res = await new Browser(tls).get(`${site.url}/shared-session/start?prompt=consent`);
    expect(res.status).toBe(400);
    expect(res.setCookies).toEqual([]);
    expect(site.logger.codes()).toEqual(['ERR_BAD_REQUEST']);
  });
});

/** Starts a bounce and returns the state the hub would echo. */
async function startBounce(browser: Browser, returnTo = '/after'): Promise<string> {
  const res = await browser.get(`${site.url}/shared-session/start?return_to=${encodeURIComponent(returnTo)}`);
  return handoffTarget(res.headers.location).query.state!;
}

describe('accept', () => {
  it('by form POST: takes the token, clears the state, 303s to return_to, reports the link', async () => {
    const browser = new Browser(tls);
    const state = await startBounce(browser);
    const sid = newSid();
    const token = hub.mint({ audience: site.url, sid, sub: 'user-7' });
    const res = await browser.post(
      `${site.url}/shared-session/accept`,
      { token, state, return_to: `${site.url}/after` },
      { origin: hub.url },
    );
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${site.url}/after`);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(cookieAttributes(res.setCookies, 'tessera_site')).toEqual({ path: '/', samesite: 'none', secure: '', httponly: '' });
    expect(cookieAttributes(res.setCookies, 'tessera_state')).toMatchObject({ 'max-age': '0', path: '/shared-session/' });
    expect(browser.cookies.has('tessera_state')).toBe(false);
    expect((await browser.whoami(site)).tessera).toMatchObject({ sid, sub: 'user-7' });
    // Reported, with the token as proof, before the answer (link-report.test.ts has the rest).
    expect(hub.linkCalls).toEqual([{ sid, token, authorization: `Bearer ${hub.credential}` }]);
  });

  it('by redirect (GET with query)', async () => {
    const browser = new Browser(tls);
    const state = await startBounce(browser);
    const sid = newSid();
    const query = new URLSearchParams({ token: hub.mint({ audience: site.url, sid, sub: 'user-7' }), state, return_to: `${site.url}/x` });
    const res = await browser.get(`${site.url}/shared-session/accept?${query.toString()}`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${site.url}/x`);
    expect((await browser.whoami(site)).tessera).toMatchObject({ sid });
  });

  it('refuses a state that does not match the cookie: 400, no cookie, the token not spent', async () => {
    const browser = new Browser(tls);
    const state = await startBounce(browser);
    const token = hub.mint({ audience: site.url, sid: newSid(), sub: 'user-7' });
    const res = await browser.post(`${site.url}/shared-session/accept`, { token, state: `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`, return_to: '/' });
    expect(res.status).toBe(400);
    expect(res.body).toContain('ERR_HANDOFF_STATE');
    expect(res.setCookies).toEqual([]);
    expect(site.logger.codes()).toEqual(['ERR_HANDOFF_STATE']);
    expect((await browser.post(`${site.url}/shared-session/accept`, { token, state, return_to: '/' })).status).toBe(303);
  });

  it('refuses a return without any state cookie (a token the visitor never asked for)', async () => {
    const browser = new Browser(tls);
    const res = await browser.post(`${site.url}/shared-session/accept`, { token: hub.mint({ audience: site.url, sid: newSid(), sub: 'u' }), state: 'x'.repeat(43), return_to: '/' });
    expect(res.status).toBe(400);
    expect(res.setCookies).toEqual([]);
    expect((await browser.whoami(site)).tessera).toBeNull();
  });

  it('refuses a bad token after a good state: 400, no cookie, state kept', async () => {
    const browser = new Browser(tls);
    const state = await startBounce(browser);
    const res = await browser.post(`${site.url}/shared-session/accept`, { token: hub.mint({ audience: 'https://shop.example.net', sid: newSid(), sub: 'u' }), state, return_to: '/' });
    expect(res.status).toBe(400);
    expect(res.setCookies).toEqual([]);
    expect(browser.cookies.has('tessera_state')).toBe(true);
    expect(site.logger.codes()).toEqual(['ERR_HANDOFF_AUDIENCE']);
  });

  it('sends a return_to on another origin to the site root', async () => {
    const browser = new Browser(tls);
    const state = await startBounce(browser);
    const res = await browser.post(`${site.url}/shared-session/accept`, { token: hub.mint({ audience: site.url, sid: newSid(), sub: 'u' }), state, return_to: '//evil.example/x' });
    expect(res.headers.location).toBe(`${site.url}/`);
  });

  it('sends a return_to on this origin with userinfo to the site root', async () => {
    const browser = new Browser(tls);
    const state = await startBounce(browser);
    const res = await browser.post(`${site.url}/shared-session/accept`, { token: hub.mint({ audience: site.url, sid: newSid(), sub: 'u' }), state, return_to: `https://user:pass@${site.host}/account` });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${site.url}/`);
  });

  it('refuses a body above the form limit with 413', async () => {
    const browser = new Browser(tls);
    const state = await startBounce(browser);
    const res = await browser.post(`${site.url}/shared-session/accept`, { token: 'x'.repeat(20_000), state, return_to: '/' });
    expect(res.status).toBe(413);
    expect(res.setCookies).toEqual([]);
  });

  it('answers 405 to other methods', async () => {
    const res = await new Browser(tls).request('PUT', `${site.url}/shared-session/accept`);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, POST');
  });
});

describe('login_required', () => {
  it('sets the nobounce cookie and returns; then no page bounces again', async () => {
    const browser = new Browser(tls);
    const first = await browser.get(`${site.url}/protected/page`);
    expect(first.status).toBe(303);
    const { state } = handoffTarget(first.headers.location).query;

    const back = await browser.post(`${site.url}/shared-session/accept`, { error: 'login_required', state: state!, return_to: `${site.url}/protected/page` });
    expect(back.status).toBe(303);
    expect(back.headers.location).toBe(`${site.url}/protected/page`);
    expect(cookieAttributes(back.setCookies, 'tessera_nobounce')).toEqual({ path: '/', 'max-age': '300', httponly: '', secure: '', samesite: 'Lax' });
    expect(cookieAttributes(back.setCookies, 'tessera_site')).toBeNull();

    const again = await browser.get(`${site.url}/protected/page`);
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toMatchObject({ tessera: null });
    const start = await browser.get(`${site.url}/shared-session/start?return_to=/protected/page`);
    expect(start.headers.location).toBe(`${site.url}/protected/page`);
    expect(start.setCookies).toEqual([]);
  });

  it('is refused like a token when the state does not match', async () => {
    const browser = new Browser(tls);
    await startBounce(browser);
    const res = await browser.get(`${site.url}/shared-session/accept?error=login_required&state=wrong&return_to=/`);
    expect(res.status).toBe(400);
    expect(res.setCookies).toEqual([]);
  });

  it('still lets a sign-in link (prompt=login) bounce', async () => {
    const browser = new Browser(tls);
    browser.cookies.set('tessera_nobounce', { value: '1', path: '/' });
    const res = await browser.get(`${site.url}/shared-session/start?return_to=/&prompt=login`);
    expect(handoffTarget(res.headers.location)).toMatchObject({ url: `${hub.url}/handoff`, query: { prompt: 'login' } });
  });
});

describe('requireSession', () => {
  it('bounces a navigation without a session to the hub, returning to the same URL', async () => {
    const browser = new Browser(tls);
    const res = await browser.get(`${site.url}/protected/page?q=1`, { 'sec-fetch-mode': 'navigate' });
    expect(res.status).toBe(303);
    const state = browser.cookies.get('tessera_state')?.value;
    expect(handoffTarget(res.headers.location)).toEqual({ url: `${hub.url}/handoff`, query: { dst: site.url, return_to: `${site.url}/protected/page?q=1`, state, prompt: 'none' } });
  });

  it('lets a visitor with a session through', async () => {
    const browser = new Browser(tls);
    const sid = newSid();
    await browser.get(`${site.url}/shared-session/${hub.mint({ audience: site.url, sid, sub: 'u' })}.js`);
    const res = await browser.get(`${site.url}/protected/page`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ tessera: { sid } });
  });

  it('never bounces a fetch or a POST: lets it through anonymous', async () => {
    const browser = new Browser(tls);
    expect((await browser.get(`${site.url}/protected/api`, { 'sec-fetch-mode': 'cors' })).status).toBe(200);
    expect((await browser.post(`${site.url}/protected/form`, { a: '1' })).status).toBe(200);
    expect(browser.cookies.has('tessera_state')).toBe(false);
  });

  it('answers 401 instead with anonymous: reject', async () => {
    await site.close();
    site = await startKoaSite(tls, hub, {}, guarded({ anonymous: 'reject' }));
    const browser = new Browser(tls);
    browser.cookies.set('tessera_nobounce', { value: '1', path: '/' });
    expect((await browser.get(`${site.url}/protected/page`)).status).toBe(401);
  });

  it('with prompt: login, asks the hub to sign the visitor in, even after login_required', async () => {
    await site.close();
    site = await startKoaSite(tls, hub, {}, guarded({ prompt: 'login' }));
    const browser = new Browser(tls);
    browser.cookies.set('tessera_nobounce', { value: '1', path: '/' });
    const res = await browser.get(`${site.url}/protected/page`);
    expect(handoffTarget(res.headers.location).query).toMatchObject({ prompt: 'login' });
  });

  it('refuses bad settings up front', () => {
    expect(() => site.destination.requireSession({ prompt: 'consent' as 'none' })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
  });

  it('completes a whole bounce: page → hub → accept → page signed in', async () => {
    const browser = new Browser(tls);
    const page = await browser.get(`${site.url}/protected/page`);
    const { query } = handoffTarget(page.headers.location);
    // What the hub does with a session: a token for dst, back to accept by form POST.
    const sid = newSid();
    const back = await browser.post(`${site.url}/shared-session/accept`, { token: hub.mint({ audience: query.dst!, sid, sub: 'user-7' }), state: query.state!, return_to: query.return_to! }, { origin: hub.url });
    expect(back.headers.location).toBe(`${site.url}/protected/page`);
    const res = await browser.get(back.headers.location!);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ tessera: { sid, sub: 'user-7' } });
  });
});
