/**
 * Changing one's own password (and setting one for a link-only account) from the account page,
 * against a real server with a cookie-keeping client: what changes on success (hash, other
 * sessions, audit, e-mail) and that every refusal changes nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { nowSeconds } from '../../src/core/clock';
import { createSessionRecord, formatCookieValue, parseCookieValue } from '../../src/core/sessions/session';
import type { UserRecord } from '../../src/ports';
import { hashPassword, verifyPassword } from '../../src/users/password';
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, testConfig, type TestHub } from '../support/hub';

const hubOrigin = 'https://hub.example.com';
const sameOrigin = { origin: hubOrigin, 'sec-fetch-site': 'same-origin' };
const password = 'correct horse battery staple';
const newPassword = 'a new and longer passphrase';
const firefox = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' };

async function signIn(hub: TestHub, email: string, pw = password): Promise<CookieClient> {
  const client = new CookieClient(hub.url, firefox);
  const page = await client.get('/login');
  const res = await client.post('/login', { _csrf: csrfFrom(page.body), email, password: pw }, sameOrigin);
  expect(res.status).toBe(303);
  return client;
}

/** A session for `user` signed in now (as the magic link would make it), on a fresh client. */
async function sessionFor(hub: TestHub, user: UserRecord): Promise<CookieClient> {
  const made = createSessionRecord({ userId: user.id, data: {}, ip: '127.0.0.1', userAgent: firefox['user-agent'], now: nowSeconds(hub.clock) }, hub.deps.config.sessions);
  await hub.deps.sessions.create(made.record);
  const client = new CookieClient(hub.url, firefox);
  client.cookies.set('__Host-tessera', formatCookieValue(made.record.sid, made.secret));
  return client;
}

const sidOf = (client: CookieClient) => parseCookieValue(client.cookies.get('__Host-tessera'))!.sid;

async function passwordForm(client: CookieClient): Promise<string> {
  const page = await client.get('/account/password');
  expect(page.status).toBe(200);
  return csrfFrom(page.body);
}

async function changePassword(client: CookieClient, fields: Record<string, string>, headers: Record<string, string> = sameOrigin) {
  return client.post('/account/password', { _csrf: await passwordForm(client), ...fields }, headers);
}

/** The .eml files of the test hub's mailer, waiting a little for one that is sent unawaited. */
async function mails(hub: TestHub, expected: number): Promise<string[]> {
  let files: string[] = [];
  for (let i = 0; i < 50 && files.length < expected; i += 1) {
    await new Promise((r) => setTimeout(r, 20));
    files = readdirSync(hub.mailDir).filter((f) => f.endsWith('.eml'));
  }
  return files.map((f) => readFileSync(`${hub.mailDir}/${f}`, 'utf8'));
}

async function passwordUpdates(hub: TestHub, userId: string) {
  return (await hub.deps.audit.query({ type: 'user.updated' }, { limit: 50 })).items.filter((e) => e.userId === userId);
}

describe('changing the password from the account page', () => {
  let hub: TestHub;
  let ada: UserRecord;
  beforeEach(async () => {
    hub = await startTestHub();
    ada = await hub.deps.users.create({ email: 'ada@example.com', name: 'Ada', passwordHash: await hashPassword(password) });
  });
  afterEach(() => hub.close());

  it('links the form from the account page', async () => {
    const client = await signIn(hub, 'ada@example.com');
    const account = await client.get('/account');
    expect(account.body).toContain('<a href="/account/password">Change your password</a>');
    const form = await client.get('/account/password');
    expect(form.headers.get('cache-control')).toBe('no-store');
    expect(form.body).toContain('name="current_password"');
    expect(form.body).toContain('autocomplete="new-password"');
  });

  it('changes it, keeps this session, ends every other one, audits and tells the user by e-mail', async () => {
    const here = await signIn(hub, 'ada@example.com');
    const elsewhere = await signIn(hub, 'ada@example.com');
    const res = await changePassword(here, { current_password: password, new_password: newPassword, confirm_password: newPassword });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/account?password=changed');

    const stored = (await hub.deps.users.findById(ada.id))!;
    expect(await verifyPassword(stored.passwordHash!, newPassword)).toBe(true);
    expect(await verifyPassword(stored.passwordHash!, password)).toBe(false);
    expect(await hub.deps.sessions.get(sidOf(here))).not.toBeNull();
    expect(await hub.deps.sessions.get(sidOf(elsewhere))).toBeNull();
    expect((await elsewhere.get('/account')).status).toBe(303);
    const account = await here.get('/account?password=changed');
    expect(account.status).toBe(200);
    expect(account.body).toContain('Your password is changed.');

    const [event] = await passwordUpdates(hub, ada.id);
    expect(event).toMatchObject({ actor: `user:${ada.id}`, sid: sidOf(here), details: { change: 'password-changed', endedSessions: 1 } });
    const [mail] = await mails(hub, 1);
    expect(mail).toMatch(/^Subject: Your Tessera password was changed/m);
    expect(mail).toContain('Firefox on Linux');
    expect(mail).not.toContain(newPassword);

    await signIn(hub, 'ada@example.com', newPassword);
  });

  it.each([
    ['a wrong current password', { current_password: 'not the password', new_password: newPassword, confirm_password: newPassword }, 403, 'The current password is not correct.'],
    ['an empty current password', { current_password: '', new_password: newPassword, confirm_password: newPassword }, 403, 'The current password is not correct.'],
    ['two different new passwords', { current_password: password, new_password: newPassword, confirm_password: `${newPassword}!` }, 400, 'The two new passwords are not the same.'],
    ['a new password that is too short', { current_password: password, new_password: 'short', confirm_password: 'short' }, 400, 'shorter than 8 characters'],
  ])('refuses %s and changes nothing', async (_name, fields, status, message) => {
    const here = await signIn(hub, 'ada@example.com');
    const elsewhere = await signIn(hub, 'ada@example.com');
    const res = await changePassword(here, fields);
    expect(res.status).toBe(status);
    expect(res.body).toContain(message);
    expect(res.body).toContain('action="/account/password"');
    expect(res.body).not.toContain(newPassword);
    const stored = (await hub.deps.users.findById(ada.id))!;
    expect(stored.passwordHash).toBe(ada.passwordHash);
    expect(await hub.deps.sessions.get(sidOf(elsewhere))).not.toBeNull();
    expect(await passwordUpdates(hub, ada.id)).toHaveLength(0);
    expect(await mails(hub, 0)).toHaveLength(0);
  });

  it('refuses a POST without the CSRF token or from another site, and a visitor who is not signed in', async () => {
    const here = await signIn(hub, 'ada@example.com');
    const fields = { current_password: password, new_password: newPassword, confirm_password: newPassword };
    const noToken = await here.post('/account/password', fields, sameOrigin);
    expect(noToken.status).toBe(403);
    const crossSite = await changePassword(here, fields, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    const stranger = new CookieClient(hub.url);
    const anonymous = await stranger.post('/account/password', { _csrf: csrfFrom((await stranger.get('/login')).body), ...fields }, sameOrigin);
    expect(anonymous.status).toBe(401);
    const form = await stranger.get('/account/password');
    expect(form.status).toBe(303);
    expect(form.headers.get('location')).toBe('/login?return_to=%2Faccount%2Fpassword');
    expect((await hub.deps.users.findById(ada.id))!.passwordHash).toBe(ada.passwordHash);
  });

  it('counts wrong current passwords against the account login limit: 429 with Retry-After', async () => {
    const limit = hub.deps.config.login.accountLimit;
    const here = await signIn(hub, 'ada@example.com');
    const wrong = { current_password: 'not the password', new_password: newPassword, confirm_password: newPassword };
    for (let i = 0; i < limit; i += 1) expect((await changePassword(here, wrong)).status).toBe(403);
    const limited = await changePassword(here, { current_password: password, new_password: newPassword, confirm_password: newPassword });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await hub.deps.users.findById(ada.id))!.passwordHash).toBe(ada.passwordHash);
  });
});

describe('setting a password on a link-only account', () => {
  let hub: TestHub;
  let lin: UserRecord;
  beforeEach(async () => {
    hub = await startTestHub();
    lin = await hub.deps.users.create({ email: 'lin@example.com', name: 'Lin', passwordHash: null });
  });
  afterEach(() => hub.close());

  it('sets one without a current password within ten minutes of signing in', async () => {
    const here = await sessionFor(hub, lin);
    const elsewhere = await sessionFor(hub, lin);
    expect((await here.get('/account')).body).toContain('<a href="/account/password">Set a password</a>');
    hub.clock.advance(9 * 60_000);
    const res = await changePassword(here, { new_password: newPassword, confirm_password: newPassword });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/account?password=set');
    expect(await verifyPassword((await hub.deps.users.findById(lin.id))!.passwordHash!, newPassword)).toBe(true);
    expect(await hub.deps.sessions.get(sidOf(elsewhere))).toBeNull();
    expect((await passwordUpdates(hub, lin.id))[0]!.details).toMatchObject({ change: 'password-set' });
    expect((await mails(hub, 1))[0]).toMatch(/^Subject: A password was set for your Tessera account/m);
  });

  it('asks for a fresh sign-in after ten minutes, and refuses the POST with nothing changed', async () => {
    const here = await sessionFor(hub, lin);
    const csrf = await passwordForm(here);
    hub.clock.advance(11 * 60_000);
    const page = await here.get('/account/password');
    expect(page.status).toBe(200);
    expect(page.body).not.toContain('name="new_password"');
    expect(page.body).toContain('href="/login?return_to=https%3A%2F%2Fhub.example.com%2Faccount%2Fpassword"');
    const res = await here.post('/account/password', { _csrf: csrf, new_password: newPassword, confirm_password: newPassword }, sameOrigin);
    expect(res.status).toBe(403);
    expect(res.body).toContain('Sign in again to set a password');
    expect((await hub.deps.users.findById(lin.id))!.passwordHash).toBeNull();
    expect(await passwordUpdates(hub, lin.id)).toHaveLength(0);
  });
});

describe('with password sign-in turned off', () => {
  it('has no password form and no link to it', async () => {
    const hub = await startTestHub({ config: testConfig({ TESSERA_LOGIN_PASSWORD: 'false' }) });
    try {
      const lin = await hub.deps.users.create({ email: 'lin@example.com', passwordHash: null });
      const here = await sessionFor(hub, lin);
      expect((await here.get('/account')).body).not.toContain('/account/password');
      expect((await here.get('/account/password')).status).toBe(404);
      const csrf = csrfFrom((await here.get('/account')).body);
      const res = await here.post('/account/password', { _csrf: csrf, new_password: newPassword, confirm_password: newPassword }, sameOrigin);
      expect(res.status).toBe(404);
      expect((await hub.deps.users.findById(lin.id))!.passwordHash).toBeNull();
    } finally {
      await hub.close();
    }
  });
});
