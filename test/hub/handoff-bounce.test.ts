/**
 * The redirect bounce, both legs, over real HTTP: the hub's `/handoff` (checks, form_post,
 * redirect mode, prompt=none / prompt=login) and the hub-as-receiver's `start` and `accept`
 * for shop.example.net (state cookie, login_required and the no-bounce hold).
 */
import { parseCookieValue } from '../../src/core/sessions/session';
import { hashPassword } from '../../src/users/password';
import { csrfFrom } from '../support/client';
import { Browser, HUB, HUB_HOST, SHOP, SHOP_HOST, WWW, formField, payloadOf, signedInSession, startHandoffHub, type HandoffHub, type Reply } from './handoff-support';

const STATE = 'S'.repeat(43);

function handoffPath(params: Record<string, string>): string {
  return `/handoff?${new URLSearchParams(params).toString()}`;
}

/** A browser signed in at the hub (cookie set directly). */
async function signedInBrowser(hub: HandoffHub) {
  const signed = await signedInSession(hub);
  const browser = new Browser(hub.url);
  browser.jar(hub.ownHost).set('__Host-tessera', signed.hubCookie);
  return { browser, signed };
}

describe('GET /handoff', () => {
  let hub: HandoffHub;
  beforeAll(async () => {
    hub = await startHandoffHub();
  });
  afterAll(() => hub.close());

  it.each([
    ['a dst that is not a site', { dst: 'https://evil.example', return_to: 'https://evil.example/', state: STATE }, 'ERR_HANDOFF_NOT_A_SITE'],
    ['a missing dst', { return_to: `${SHOP}/`, state: STATE }, 'ERR_HANDOFF_NOT_A_SITE'],
    ['a dst on the right host but another scheme', { dst: 'http://shop.example.net', return_to: 'http://shop.example.net/', state: STATE }, 'ERR_HANDOFF_NOT_A_SITE'],
    ['a return_to on another origin', { dst: SHOP, return_to: 'https://evil.example/', state: STATE }, 'ERR_BAD_REQUEST'],
    ['a return_to on another site', { dst: SHOP, return_to: `${WWW}/`, state: STATE }, 'ERR_BAD_REQUEST'],
    ['a protocol-relative return_to', { dst: SHOP, return_to: '//evil.example/', state: STATE }, 'ERR_BAD_REQUEST'],
    ['a missing state', { dst: SHOP, return_to: `${SHOP}/` }, 'ERR_BAD_REQUEST'],
    ['a short state', { dst: SHOP, return_to: `${SHOP}/`, state: 'short' }, 'ERR_BAD_REQUEST'],
    ['a state with other characters', { dst: SHOP, return_to: `${SHOP}/`, state: `${STATE}<script>` }, 'ERR_BAD_REQUEST'],
    ['an unknown prompt', { dst: SHOP, return_to: `${SHOP}/`, state: STATE, prompt: 'consent' }, 'ERR_BAD_REQUEST'],
  ])('answers %s with a 400 page and no redirect', async (_name, params, code) => {
    const { browser } = await signedInBrowser(hub);
    const res = await browser.get(hub.ownHost, handoffPath(params as Record<string, string>), { accept: 'text/html' });
    expect(res.status).toBe(400);
    expect(res.location).toBeUndefined();
    expect(res.body).toContain(code);
  });

  it('with a session: answers a form_post page carrying the token only in the form', async () => {
    const { browser, signed } = await signedInBrowser(hub);
    const res = await browser.get(hub.ownHost, handoffPath({ dst: SHOP, return_to: `${SHOP}/cart?x=1`, state: STATE, prompt: 'none' }));
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-security-policy']).toMatch(/form-action [^;]*https:\/\/shop\.example\.net/);
    expect(res.body).toContain('<form id="handoff" class="card" method="post" action="https://shop.example.net/shared-session/accept">');
    const token = formField(res.body, 'token');
    expect(formField(res.body, 'state')).toBe(STATE);
    expect(formField(res.body, 'return_to')).toBe(`${SHOP}/cart?x=1`);
    expect(res.body.split(token)).toHaveLength(2);
    for (const url of res.body.match(/(?:href|src|action)="[^"]*"/g) ?? []) expect(url).not.toContain(token.slice(0, 40));
    expect(res.body).not.toContain('token=');
    const nonce = /'nonce-([^']+)'/.exec(res.headers['content-security-policy'] as string)![1]!;
    expect(res.body).toContain(`<script nonce="${nonce}">document.getElementById('handoff').submit();</script>`);
    expect(res.body).toContain('<button type="submit">Continue</button>');
    expect(payloadOf(token)).toMatchObject({ iss: HUB, aud: SHOP, dst: SHOP_HOST, src: HUB_HOST, sid: signed.record.sid, sub: signed.user.id, email: signed.user.email, name: signed.user.name });
  });

  it('without a session and prompt=none: back to the site with error=login_required', async () => {
    const res = await new Browser(hub.url).get(hub.ownHost, handoffPath({ dst: SHOP, return_to: `${SHOP}/cart`, state: STATE, prompt: 'none' }));
    expect(res.status).toBe(303);
    const location = new URL(res.location!);
    expect(location.origin + location.pathname).toBe(`${SHOP}/shared-session/accept`);
    expect(Object.fromEntries(location.searchParams)).toEqual({ error: 'login_required', state: STATE, return_to: `${SHOP}/cart` });
  });

  it('treats a missing prompt as prompt=none', async () => {
    const res = await new Browser(hub.url).get(hub.ownHost, handoffPath({ dst: SHOP, return_to: `${SHOP}/`, state: STATE }));
    expect(new URL(res.location!).searchParams.get('error')).toBe('login_required');
  });

  it('without a session and prompt=login: the login page, then the handoff continues', async () => {
    await hub.deps.users.create({ email: 'bounce@example.com', name: 'Bounce', passwordHash: await hashPassword('correct horse battery staple') });
    const browser = new Browser(hub.url);
    const path = handoffPath({ dst: SHOP, return_to: `${SHOP}/cart`, state: STATE, prompt: 'login' });
    const first = await browser.get(hub.ownHost, path);
    expect(first.status).toBe(303);
    expect(first.location).toBe(`/login?return_to=${encodeURIComponent(path)}`);
    const login = await browser.get(hub.ownHost, first.location!);
    expect(formField(login.body, 'return_to')).toBe(`${HUB}${path}`);
    const signedIn = await browser.request(hub.ownHost, 'POST', '/login', {
      form: { _csrf: csrfFrom(login.body), email: 'bounce@example.com', password: 'correct horse battery staple', return_to: formField(login.body, 'return_to') },
      headers: { origin: HUB, 'sec-fetch-site': 'same-origin' },
    });
    // Sites are configured, so the login answers with the fan-out page, which continues to the handoff.
    expect(signedIn.status).toBe(200);
    expect(signedIn.body).toContain(`location.replace(${JSON.stringify(`${HUB}${path}`).replace(/&/g, '\\u0026')})`);
    const again = await browser.get(hub.ownHost, path);
    expect(again.status).toBe(200);
    expect(payloadOf(formField(again.body, 'token'))).toMatchObject({ aud: SHOP, sid: parseCookieValue(browser.jar(hub.ownHost).get('__Host-tessera'))!.sid });
  });
});

describe('GET /handoff in redirect mode', () => {
  let hub: HandoffHub;
  beforeAll(async () => {
    hub = await startHandoffHub({ TESSERA_HANDOFF_BOUNCE_RESPONSE: 'redirect' });
  });
  afterAll(() => hub.close());

  it('303s to accept with the token in the query', async () => {
    const { browser, signed } = await signedInBrowser(hub);
    const res = await browser.get(hub.ownHost, handoffPath({ dst: SHOP, return_to: `${SHOP}/cart`, state: STATE }));
    expect(res.status).toBe(303);
    const location = new URL(res.location!);
    expect(location.origin + location.pathname).toBe(`${SHOP}/shared-session/accept`);
    expect(location.searchParams.get('state')).toBe(STATE);
    expect(location.searchParams.get('return_to')).toBe(`${SHOP}/cart`);
    expect(payloadOf(location.searchParams.get('token')!)).toMatchObject({ aud: SHOP, sid: signed.record.sid });
  });

  it('whose accept (GET, query mode) on the hub-as-receiver sets the site cookie', async () => {
    const { browser, signed } = await signedInBrowser(hub);
    const start = await browser.get(SHOP_HOST, `/shared-session/start?return_to=${encodeURIComponent('/cart')}`);
    const handoff = new URL(start.location!);
    const bounced = await browser.get(hub.ownHost, handoff.pathname + handoff.search);
    const accept = new URL(bounced.location!);
    const res = await browser.get(SHOP_HOST, accept.pathname + accept.search);
    expect(res.status).toBe(303);
    expect(res.location).toBe(`${SHOP}/cart`);
    expect(parseCookieValue(browser.jar(SHOP_HOST).get('tessera_session'))!.sid).toBe(signed.record.sid);
  });
});

describe('hub-as-receiver bounce: start and accept', () => {
  let hub: HandoffHub;
  beforeAll(async () => {
    hub = await startHandoffHub();
  });
  afterAll(() => hub.close());

  /** start on shop, then the hub's form page; returns the fields the form would post. */
  async function bounce(browser: Browser, returnTo = '/cart', prompt = 'none'): Promise<{ start: Reply; fields: Record<string, string> }> {
    const start = await browser.get(SHOP_HOST, `/shared-session/start?return_to=${encodeURIComponent(returnTo)}&prompt=${prompt}`);
    const handoff = new URL(start.location!);
    const page = await browser.get(hub.ownHost, handoff.pathname + handoff.search);
    return { start, fields: { token: formField(page.body, 'token'), state: formField(page.body, 'state'), return_to: formField(page.body, 'return_to') } };
  }

  it('start sets the state cookie and sends the browser to the hub', async () => {
    const browser = new Browser(hub.url);
    const res = await browser.get(SHOP_HOST, `/shared-session/start?return_to=${encodeURIComponent('/cart?item=1')}&prompt=login`);
    expect(res.status).toBe(303);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.setCookies).toHaveLength(1);
    expect(res.setCookies[0]).toMatch(/^tessera_state=([A-Za-z0-9_-]{43}); Path=\/shared-session\/; Max-Age=600; HttpOnly; Secure; SameSite=None$/);
    const location = new URL(res.location!);
    expect(location.origin + location.pathname).toBe(`${HUB}/handoff`);
    expect(Object.fromEntries(location.searchParams)).toEqual({ dst: SHOP, return_to: `${SHOP}/cart?item=1`, state: browser.jar(SHOP_HOST).get('tessera_state'), prompt: 'login' });
  });

  it('start never sends a foreign return_to to the hub', async () => {
    const res = await new Browser(hub.url).get(SHOP_HOST, `/shared-session/start?return_to=${encodeURIComponent('https://evil.example/')}`);
    expect(new URL(res.location!).searchParams.get('return_to')).toBe(`${SHOP}/`);
  });

  it('completes: accept checks state, sets the site cookie, clears the state and goes to return_to', async () => {
    const { browser, signed } = await signedInBrowser(hub);
    const { fields } = await bounce(browser);
    const res = await browser.request(SHOP_HOST, 'POST', '/shared-session/accept', { form: fields, headers: { origin: 'null' } });
    expect(res.status).toBe(303);
    expect(res.location).toBe(`${SHOP}/cart`);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.setCookies.find((c) => c.startsWith('tessera_session='))).toMatch(/; Path=\/; HttpOnly; Secure; SameSite=None$/);
    expect(res.setCookies.find((c) => c.startsWith('tessera_state='))).toMatch(/^tessera_state=; Path=\/shared-session\/; Max-Age=0/);
    expect(browser.jar(SHOP_HOST).has('tessera_state')).toBe(false);
    const me = await browser.get(SHOP_HOST, '/shared-session/session.json');
    expect(JSON.parse(me.body)).toMatchObject({ sid: signed.record.sid, sub: signed.user.id, src: HUB_HOST });
  });

  it('refuses a state that does not match the cookie: 400 ERR_HANDOFF_STATE, no cookie, token not spent', async () => {
    const { browser } = await signedInBrowser(hub);
    const { fields } = await bounce(browser);
    hub.logs.clear();
    const wrong = await browser.request(SHOP_HOST, 'POST', '/shared-session/accept', { form: { ...fields, state: 'X'.repeat(43) }, headers: { accept: 'text/html' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain('ERR_HANDOFF_STATE');
    expect(wrong.setCookies).toEqual([]);
    const stranger = new Browser(hub.url);
    const noCookie = await stranger.request(SHOP_HOST, 'POST', '/shared-session/accept', { form: fields });
    expect(noCookie.status).toBe(400);
    expect(noCookie.setCookies).toEqual([]);
    expect(hub.logs.codes('request rejected')).toEqual(['ERR_HANDOFF_STATE', 'ERR_HANDOFF_STATE']);
    const right = await browser.request(SHOP_HOST, 'POST', '/shared-session/accept', { form: fields });
    expect(right.status).toBe(303);
  });

  it('refuses a replayed bounce token', async () => {
    const { browser } = await signedInBrowser(hub);
    const { fields } = await bounce(browser);
    expect((await browser.request(SHOP_HOST, 'POST', '/shared-session/accept', { form: fields })).status).toBe(303);
    const second = await bounce(browser);
    const replay = await browser.request(SHOP_HOST, 'POST', '/shared-session/accept', { form: { ...fields, state: second.fields.state } });
    expect(replay.status).toBe(400);
    expect(replay.setCookies).toEqual([]);
  });

  it('sends an accepted browser to the site root when return_to is not on the site', async () => {
    const { browser } = await signedInBrowser(hub);
    const { fields } = await bounce(browser);
    const res = await browser.request(SHOP_HOST, 'POST', '/shared-session/accept', { form: { ...fields, return_to: 'https://evil.example/' } });
    expect(res.status).toBe(303);
    expect(res.location).toBe(`${SHOP}/`);
  });

  it('after login_required: holds bounces, and the next prompt=none start goes straight back', async () => {
    const browser = new Browser(hub.url);
    const start = await browser.get(SHOP_HOST, '/shared-session/start?return_to=%2Fcart&prompt=none');
    const handoff = new URL(start.location!);
    const hubAnswer = await browser.get(hub.ownHost, handoff.pathname + handoff.search);
    const accept = new URL(hubAnswer.location!);
    expect(accept.searchParams.get('error')).toBe('login_required');
    const back = await browser.get(SHOP_HOST, accept.pathname + accept.search);
    expect(back.status).toBe(303);
    expect(back.location).toBe(`${SHOP}/cart`);
    expect(back.setCookies.find((c) => c.startsWith('tessera_nobounce='))).toBe('tessera_nobounce=1; Path=/; Max-Age=300; HttpOnly; Secure; SameSite=Lax');
    expect(back.setCookies.some((c) => c.startsWith('tessera_session='))).toBe(false);

    const held = await browser.get(SHOP_HOST, '/shared-session/start?return_to=%2Fcart&prompt=none');
    expect(held.status).toBe(303);
    expect(held.location).toBe(`${SHOP}/cart`);
    expect(held.setCookies).toEqual([]);
    // Asking to sign in is not a loop: it bounces.
    const login = await browser.get(SHOP_HOST, '/shared-session/start?return_to=%2Fcart&prompt=login');
    expect(new URL(login.location!).origin).toBe(HUB);
  });

  it('refuses login_required without the matching state (no planted hold)', async () => {
    const res = await new Browser(hub.url).get(SHOP_HOST, `/shared-session/accept?error=login_required&state=${STATE}&return_to=%2F`);
    expect(res.status).toBe(400);
    expect(res.setCookies).toEqual([]);
  });
});
