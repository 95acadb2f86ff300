/**
 * The login hub against a real HTTP server with a cookie-keeping client: fixation, CSRF,
 * enumeration, timeouts, rate limits, the per-user session limit and the account page.
 */
import { nowSeconds } from '../../src/core/clock';
import { createSessionRecord, formatCookieValue, parseCookieValue } from '../../src/core/sessions/session';
import { hashPassword } from '../../src/users/password';
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, testConfig, type TestHub } from '../support/hub';

const hubOrigin = 'https://hub.example.com';
const sameOrigin = { origin: hubOrigin, 'sec-fetch-site': 'same-origin' };
const password = 'correct horse battery staple';

async function addUser(hub: TestHub, email: string, options: { disabled?: boolean; withPassword?: boolean } = {}) {
  return hub.deps.users.create({
    email,
    name: email.split('@')[0]!,
    passwordHash: options.withPassword === false ? null : await hashPassword(password),
    disabled: options.disabled ?? false,
  });
}

async function signIn(hub: TestHub, email: string, extra: Record<string, string> = {}): Promise<{ client: CookieClient; res: Awaited<ReturnType<CookieClient['post']>> }> {
  const client = new CookieClient(hub.url, { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' });
  const page = await client.get('/login');
  const res = await client.post('/login', { _csrf: csrfFrom(page.body), email, password, ...extra }, sameOrigin);
  return { client, res };
}

function sidOf(client: CookieClient): string | null {
  return parseCookieValue(client.cookies.get('__Host-tessera'))?.sid ?? null;
}

describe('password login', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
    await addUser(hub, 'ada@example.com');
    await addUser(hub, 'off@example.com', { disabled: true });
    await addUser(hub, 'linkonly@example.com', { withPassword: false });
  });
  afterAll(() => hub.close());

  it('signs in, sets the hub cookie with the required attributes and redirects to the account page', async () => {
    const { client, res } = await signIn(hub, 'ada@example.com');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${hubOrigin}/account`);
    const cookie = res.setCookies.find((c) => c.startsWith('__Host-tessera='))!;
    expect(cookie).toMatch(/; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(cookie).not.toMatch(/Domain=|Max-Age/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const sid = sidOf(client)!;
    const stored = await hub.deps.sessions.get(sid);
    expect(stored?.userId).toBe((await hub.deps.users.findByEmail('ada@example.com'))!.id);
    const account = await client.get('/account');
    expect(account.status).toBe(200);
    expect(account.body).toContain('ada@example.com');
    expect(account.body).toContain('this device');
    expect(account.body).toContain('Firefox on Linux');
  });

  it('gives "keep me signed in" a Max-Age no longer than the absolute timeout', async () => {
    const { res } = await signIn(hub, 'ada@example.com', { remember: '1' });
    const cookie = res.setCookies.find((c) => c.startsWith('__Host-tessera='))!;
    const maxAge = Number(/Max-Age=(\d+)/.exec(cookie)![1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(hub.deps.config.sessions.absoluteTimeoutSeconds);
  });

  it('answers unknown user, wrong password, disabled user and link-only user identically', async () => {
    const client = new CookieClient(hub.url);
    const csrf = csrfFrom((await client.get('/login')).body);
    const attempt = (email: string, pw: string) => client.post('/login', { _csrf: csrf, email, password: pw }, sameOrigin);
    const unknown = await attempt('nobody@example.com', password);
    const wrong = await attempt('ada@example.com', 'wrong password!');
    const disabled = await attempt('off@example.com', password);
    const linkOnly = await attempt('linkonly@example.com', password);
    for (const res of [wrong, disabled, linkOnly]) {
      expect(res.status).toBe(unknown.status);
      expect(res.body.replace(/value="[^"]*@example\.com"/g, '')).toBe(unknown.body.replace(/value="[^"]*@example\.com"/g, ''));
    }
    expect(unknown.status).toBe(401);
    expect(client.cookies.has('__Host-tessera')).toBe(false);
  });

  it('signs in typing the other Unicode normalisation form of the address (NFC or NFD)', async () => {
    const zoe = await addUser(hub, 'zoe\u0308@example.com');
    const precomposed = await signIn(hub, 'Zo\u00eb@example.com');
    expect(precomposed.res.status).toBe(303);
    expect((await hub.deps.sessions.get(sidOf(precomposed.client)!))?.userId).toBe(zoe.id);
    const chloe = await addUser(hub, 'chlo\u00e9@example.com');
    const decomposed = await signIn(hub, 'chloe\u0301@example.com');
    expect(decomposed.res.status).toBe(303);
    expect((await hub.deps.sessions.get(sidOf(decomposed.client)!))?.userId).toBe(chloe.id);
  });

  it('honours return_to only for the hub or a configured site', async () => {
    const evil = await signIn(hub, 'ada@example.com', { return_to: 'https://evil.example/' });
    expect(evil.res.headers.get('location')).toBe(`${hubOrigin}/account`);
    const relative = await signIn(hub, 'ada@example.com', { return_to: '/account?x=1' });
    expect(relative.res.headers.get('location')).toBe(`${hubOrigin}/account?x=1`);
  });
});

describe('session fixation', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
    await addUser(hub, 'ada@example.com');
  });
  afterAll(() => hub.close());

  it('never adopts a cookie value the hub did not issue', async () => {
    const client = new CookieClient(hub.url);
    const planted = formatCookieValue('A'.repeat(22), 'B'.repeat(43));
    client.cookies.set('__Host-tessera', planted);
    const page = await client.get('/login');
    expect(page.setCookies.some((c) => /^__Host-tessera=;/.test(c))).toBe(true);
    const res = await client.post('/login', { _csrf: csrfFrom(page.body), email: 'ada@example.com', password }, sameOrigin);
    expect(res.status).toBe(303);
    const issued = parseCookieValue(client.cookies.get('__Host-tessera'))!;
    expect(issued.sid).not.toBe('A'.repeat(22));
    expect(issued.secret).not.toBe('B'.repeat(43));
    expect(await hub.deps.sessions.get(issued.sid)).not.toBeNull();
  });

  it('replaces an anonymous session at login: new sid and secret, old sid dead, data carried over', async () => {
    const now = nowSeconds(hub.clock);
    const anon = createSessionRecord({ userId: null, data: { basket: ['tea'] }, ip: null, userAgent: null, now }, { idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 43200, touchIntervalSeconds: 60 });
    await hub.deps.sessions.create(anon.record);
    const client = new CookieClient(hub.url);
    const before = formatCookieValue(anon.record.sid, anon.secret);
    client.cookies.set('__Host-tessera', before);
    const page = await client.get('/login');
    const res = await client.post('/login', { _csrf: csrfFrom(page.body), email: 'ada@example.com', password }, sameOrigin);
    expect(res.status).toBe(303);
    const after = client.cookies.get('__Host-tessera')!;
    expect(after).not.toBe(before);
    const newSid = parseCookieValue(after)!.sid;
    expect(newSid).not.toBe(anon.record.sid);
    expect(await hub.deps.sessions.get(anon.record.sid)).toBeNull();
    expect((await hub.deps.sessions.get(newSid))?.data).toEqual({ basket: ['tea'] });
  });

  it('ignores a cookie whose secret does not match the stored hash', async () => {
    const { client } = await signIn(hub, 'ada@example.com');
    const sid = sidOf(client)!;
    const forged = new CookieClient(hub.url);
    forged.cookies.set('__Host-tessera', formatCookieValue(sid, 'C'.repeat(43)));
    const res = await forged.get('/account');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?return_to=%2Faccount');
    expect(await hub.deps.sessions.get(sid)).not.toBeNull();
  });
});

describe('CSRF', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
    await addUser(hub, 'ada@example.com');
  });
  afterAll(() => hub.close());

  it('refuses a login POST without a token, and creates no session', async () => {
    const client = new CookieClient(hub.url);
    await client.get('/login');
    const res = await client.post('/login', { email: 'ada@example.com', password }, sameOrigin);
    expect(res.status).toBe(403);
    expect(res.body).toContain('ERR_CSRF');
    expect(client.cookies.has('__Host-tessera')).toBe(false);
  });

  it('refuses a cross-site POST even with a valid token', async () => {
    const client = new CookieClient(hub.url);
    const csrf = csrfFrom((await client.get('/login')).body);
    const viaOrigin = await client.post('/login', { _csrf: csrf, email: 'ada@example.com', password }, { origin: 'https://evil.example' });
    expect(viaOrigin.status).toBe(403);
    expect(viaOrigin.body).toContain('ERR_CROSS_SITE');
    const viaFetchSite = await client.post('/login', { _csrf: csrf, email: 'ada@example.com', password }, { 'sec-fetch-site': 'cross-site' });
    expect(viaFetchSite.status).toBe(403);
    expect(client.cookies.has('__Host-tessera')).toBe(false);
  });

  it('accepts Origin: null only when Sec-Fetch-Site says same-origin (Chromium under no-referrer)', async () => {
    const client = new CookieClient(hub.url);
    const csrf = csrfFrom((await client.get('/login')).body);
    const unvouched = await client.post('/login', { _csrf: csrf, email: 'ada@example.com', password }, { origin: 'null' });
    expect(unvouched.status).toBe(403);
    expect(unvouched.body).toContain('ERR_CROSS_SITE');
    const crossSite = await client.post('/login', { _csrf: csrf, email: 'ada@example.com', password }, { origin: 'null', 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    const vouched = await client.post('/login', { _csrf: csrf, email: 'ada@example.com', password }, { origin: 'null', 'sec-fetch-site': 'same-origin' });
    expect(vouched.status).toBe(303);
    expect(client.cookies.has('__Host-tessera')).toBe(true);
  });

  it('refuses logout without the session-bound token and keeps the session', async () => {
    const { client } = await signIn(hub, 'ada@example.com');
    const sid = sidOf(client)!;
    const other = await signIn(hub, 'ada@example.com');
    const foreignToken = csrfFrom((await other.client.get('/account')).body);
    const res = await client.post('/logout', { _csrf: foreignToken }, sameOrigin);
    expect(res.status).toBe(403);
    expect(await hub.deps.sessions.get(sid)).not.toBeNull();
    const ok = await client.post('/logout', { _csrf: csrfFrom((await client.get('/account')).body) }, sameOrigin);
    expect(ok.status).toBe(200);
    expect(await hub.deps.sessions.get(sid)).toBeNull();
    expect(client.cookies.has('__Host-tessera')).toBe(false);
  });

  it('has no GET logout', async () => {
    const { client } = await signIn(hub, 'ada@example.com');
    const sid = sidOf(client)!;
    const res = await client.get('/logout');
    expect(res.status).toBe(200);
    expect(res.body).toContain('method="post" action="/logout"');
    expect(await hub.deps.sessions.get(sid)).not.toBeNull();
  });
});

describe('timeouts (injected clock)', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ config: testConfig({ TESSERA_SESSION_IDLE_TIMEOUT: '600', TESSERA_SESSION_ABSOLUTE_TIMEOUT: '3600' }) });
    await addUser(hub, 'ada@example.com');
  });
  afterAll(() => hub.close());

  it('ends a session after the idle timeout', async () => {
    const { client } = await signIn(hub, 'ada@example.com');
    hub.clock.advance(599_000);
    expect((await client.get('/account')).status).toBe(200);
    hub.clock.advance(601_000);
    const res = await client.get('/account');
    expect(res.status).toBe(303);
  });

  it('ends a session at the absolute timeout despite constant activity', async () => {
    const { client } = await signIn(hub, 'ada@example.com');
    // Active every five minutes for 55 minutes: the idle timeout (10 min) never strikes.
    for (let elapsed = 300; elapsed <= 3300; elapsed += 300) {
      hub.clock.advance(300_000);
      expect((await client.get('/account')).status).toBe(200);
    }
    // 61 minutes after login: past the absolute timeout (60 min), though idle only 6 minutes.
    hub.clock.advance(360_000);
    expect((await client.get('/account')).status).toBe(303);
  });
});

describe('rate limits', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ config: testConfig({ TESSERA_LOGIN_ACCOUNT_LIMIT: '3', TESSERA_LOGIN_ACCOUNT_WINDOW: '60', TESSERA_LOGIN_ADDRESS_LIMIT: '100' }) });
    await addUser(hub, 'ada@example.com');
  });
  afterAll(async () => {
    jest.useRealTimers();
    await hub.close();
  });

  it('trips after the configured failures with 429 and Retry-After, then recovers when the window ends', async () => {
    // rate-limiter-flexible reads Date.now(); fake only Date so the window can pass without
    // sleeping, while timers and I/O stay real for the HTTP server and argon2.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'] });
    jest.setSystemTime(Date.now());
    const client = new CookieClient(hub.url);
    const csrf = csrfFrom((await client.get('/login')).body);
    for (let i = 0; i < 3; i += 1) {
      expect((await client.post('/login', { _csrf: csrf, email: 'ada@example.com', password: 'wrong-password' }, sameOrigin)).status).toBe(401);
    }
    const limited = await client.post('/login', { _csrf: csrf, email: 'ada@example.com', password }, sameOrigin);
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.body).toContain('ERR_RATE_LIMITED');
    expect(client.cookies.has('__Host-tessera')).toBe(false);
    jest.setSystemTime(Date.now() + 61_000);
    const recovered = await client.post('/login', { _csrf: csrf, email: 'ada@example.com', password }, sameOrigin);
    expect(recovered.status).toBe(303);
  });
});

describe('concurrent-session limit', () => {
  it('refuses a new login when the limit is reached in refuse mode', async () => {
    const hub = await startTestHub({ config: testConfig({ TESSERA_SESSION_MAX_PER_USER: '2', TESSERA_SESSION_ON_LIMIT: 'refuse' }) });
    try {
      await addUser(hub, 'ada@example.com');
      expect((await signIn(hub, 'ada@example.com')).res.status).toBe(303);
      expect((await signIn(hub, 'ada@example.com')).res.status).toBe(303);
      const third = await signIn(hub, 'ada@example.com');
      expect(third.res.status).toBe(409);
      expect(third.res.body).toContain('ERR_SESSION_LIMIT');
      expect(third.client.cookies.has('__Host-tessera')).toBe(false);
      const user = (await hub.deps.users.findByEmail('ada@example.com'))!;
      expect(await hub.deps.sessions.listByUser(user.id)).toHaveLength(2);
    } finally {
      await hub.close();
    }
  });

  it('ends the oldest session in end-oldest mode', async () => {
    const hub = await startTestHub({ config: testConfig({ TESSERA_SESSION_MAX_PER_USER: '2', TESSERA_SESSION_ON_LIMIT: 'end-oldest' }) });
    try {
      await addUser(hub, 'ada@example.com');
      const first = await signIn(hub, 'ada@example.com');
      hub.clock.advance(1000);
      const second = await signIn(hub, 'ada@example.com');
      hub.clock.advance(1000);
      const third = await signIn(hub, 'ada@example.com');
      expect(third.res.status).toBe(303);
      expect(await hub.deps.sessions.get(sidOf(first.client)!)).toBeNull();
      expect(await hub.deps.sessions.get(sidOf(second.client)!)).not.toBeNull();
      expect(await hub.deps.sessions.get(sidOf(third.client)!)).not.toBeNull();
    } finally {
      await hub.close();
    }
  });
});

describe('account page', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
    await addUser(hub, 'ada@example.com');
    await addUser(hub, 'bob@example.com');
  });
  afterAll(() => hub.close());

  it('lets a user end another of their sessions and sign out everywhere else', async () => {
    const a1 = await signIn(hub, 'ada@example.com');
    const a2 = await signIn(hub, 'ada@example.com');
    const a3 = await signIn(hub, 'ada@example.com');
    const page = await a1.client.get('/account');
    expect(page.body).toContain(sidOf(a2.client)!);
    const csrf = csrfFrom(page.body);
    const endOne = await a1.client.post('/account/sessions/end', { _csrf: csrf, sid: sidOf(a2.client)! }, sameOrigin);
    expect(endOne.status).toBe(303);
    expect(await hub.deps.sessions.get(sidOf(a2.client)!)).toBeNull();
    const endOthers = await a1.client.post('/account/sessions/end-others', { _csrf: csrf }, sameOrigin);
    expect(endOthers.status).toBe(303);
    expect(await hub.deps.sessions.get(sidOf(a3.client)!)).toBeNull();
    expect(await hub.deps.sessions.get(sidOf(a1.client)!)).not.toBeNull();
  });

  it("cannot end another user's session", async () => {
    const ada = await signIn(hub, 'ada@example.com');
    const bob = await signIn(hub, 'bob@example.com');
    const csrf = csrfFrom((await ada.client.get('/account')).body);
    const res = await ada.client.post('/account/sessions/end', { _csrf: csrf, sid: sidOf(bob.client)! }, sameOrigin);
    expect(res.status).toBe(404);
    expect(await hub.deps.sessions.get(sidOf(bob.client)!)).not.toBeNull();
  });

  it("ends a disabled user's session on their next request", async () => {
    const ada = await signIn(hub, 'ada@example.com');
    const sid = sidOf(ada.client)!;
    const user = (await hub.deps.users.findByEmail('ada@example.com'))!;
    await hub.deps.users.setDisabled(user.id, true);
    expect((await ada.client.get('/account')).status).toBe(303);
    expect(await hub.deps.sessions.get(sid)).toBeNull();
    await hub.deps.users.setDisabled(user.id, false);
  });
});

describe('hub pages', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub.close());

  it('serves the login page with a nonce CSP, no external assets, and no session', async () => {
    const client = new CookieClient(hub.url);
    const res = await client.get('/login');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.body).not.toMatch(/(src|href)="https?:/);
    expect(res.body).toContain('<label for="pw-email">');
    expect(client.cookies.has('__Host-tessera')).toBe(false);
    const css = await client.get('/assets/tessera.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('refuses an oversized form body with 413 before parsing it', async () => {
    const res = await fetch(`${hub.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...sameOrigin },
      body: `email=${'a'.repeat(200_000)}`,
    });
    expect(res.status).toBe(413);
  });
});
