/**
 * Adding and deleting users through the admin API and the admin web UI, against the real hub:
 * what is stored, audited and mailed, what every refusal leaves untouched, and that a deletion
 * ends the user's sessions everywhere first (outbox delivery for an SDK site).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { nowSeconds } from '../../../src/core/clock';
import { createSessionRecord } from '../../../src/core/sessions/session';
import type { AdminScope, SessionRecord, UserRecord } from '../../../src/ports';
import { silentLogger } from '../../../src/log/logger';
import { createMailer } from '../../../src/mail/mailer';
import { hashPassword } from '../../../src/users/password';
import { CookieClient, csrfFrom } from '../../support/client';
import { startTestHub, testConfig, type TestHub } from '../../support/hub';
import { readMessage, startSmtpServer, type SmtpTestServer } from '../../support/smtp';

const hubOrigin = 'https://hub.example.com';
const sameOrigin = { origin: hubOrigin, 'sec-fetch-site': 'same-origin' };
const password = 'correct horse battery staple';
const shop = 'https://shop.example.com';

/**
 * Addresses whose length changes under Unicode NFC, the form that is checked and stored. "ǖ"
 * typed decomposed (u, U+0308, U+0304) is three UTF-16 code units; in NFC, U+01D6, one code
 * unit of two UTF-8 octets. U+0958 is one code unit of three octets; in NFC (a composition
 * exclusion) two code units, U+0915 U+093C, of six octets.
 */
const decomposedLabel = 'u\u0308\u0304'.repeat(30);
/** 374 code units as typed; 254 octets in NFC, the limit. */
const atLimitInNfc = `aaaaaaaaaa@${[decomposedLabel, decomposedLabel, decomposedLabel, decomposedLabel].join('.')}`;
/** 377 code units as typed; 256 octets in NFC. */
const overLimitInNfc = `aaaaaaaaaa@${[decomposedLabel, decomposedLabel, decomposedLabel, `${decomposedLabel}u\u0308\u0304`].join('.')}`;
/** 100 code units and 162 octets as typed; 255 octets in NFC. */
const growsOverLimitInNfc = `aaaaaaaaaa@${'\u0958'.repeat(31)}.${'b'.repeat(57)}`;

describe('the addresses whose length changes under NFC', () => {
  it('are on the other side of the 254-octet limit in NFC than as typed', () => {
    const octets = (s: string) => Buffer.byteLength(s, 'utf8');
    expect([atLimitInNfc.length, octets(atLimitInNfc.normalize('NFC'))]).toEqual([374, 254]);
    expect([overLimitInNfc.length, octets(overLimitInNfc.normalize('NFC'))]).toEqual([377, 256]);
    expect([growsOverLimitInNfc.length, octets(growsOverLimitInNfc), octets(growsOverLimitInNfc.normalize('NFC'))]).toEqual([100, 162, 255]);
  });
});

async function mails(hub: TestHub, expected: number): Promise<string[]> {
  let files: string[] = [];
  for (let i = 0; i < 50 && files.length < expected; i += 1) {
    await new Promise((r) => setTimeout(r, 20));
    files = readdirSync(hub.mailDir).filter((f) => f.endsWith('.eml'));
  }
  return files.map((f) => readFileSync(`${hub.mailDir}/${f}`, 'utf8'));
}

describe('managing users', () => {
  let hub: TestHub;
  let root: UserRecord;
  let ada: UserRecord;
  let adaSession: SessionRecord;

  beforeEach(async () => {
    hub = await startTestHub({ config: testConfig({ TESSERA_SITES: JSON.stringify([{ origin: shop, backchannelLogoutUri: `${shop}/backchannel-logout` }]) }) });
    const passwordHash = await hashPassword(password);
    root = await hub.deps.users.create({ email: 'root@example.com', passwordHash, roles: ['admin'] });
    ada = await hub.deps.users.create({ email: 'ada@example.com', passwordHash });
    const { record } = createSessionRecord({ userId: ada.id, ip: '192.0.2.7', userAgent: null, now: nowSeconds(hub.clock) }, hub.deps.config.sessions);
    await hub.deps.sessions.create(record);
    await hub.deps.sessions.linkSite(record.sid, { site: shop, linkedAt: nowSeconds(hub.clock), src: shop, secretHash: null, projectionKey: null });
    adaSession = record;
  });
  afterEach(() => hub.close());

  describe('through the admin API', () => {
    async function tokenWith(...scopes: AdminScope[]): Promise<string> {
      return (await hub.deps.adminTokens.create({ name: 'test', scopes, createdBy: 'cli', expiresAt: null })).token;
    }

    async function call(path: string, token: string, body?: unknown) {
      const res = await fetch(`${hub.url}/api/v1/admin${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as { user?: { id: string; email: string; roles: string[]; totpEnabled?: boolean }; error?: { code: string }; deleted?: string; endedSessions?: number } };
    }

    it('creates a link-only user, optionally an admin, and invites them by e-mail', async () => {
      const token = await tokenWith('users:write');
      const res = await call('/users', token, { email: 'Grace@Example.com', name: 'Grace', admin: true });
      expect(res.status).toBe(201);
      expect(res.body.user).toMatchObject({ email: 'Grace@Example.com', roles: ['admin'] });
      const stored = (await hub.deps.users.findByEmail('grace@example.com'))!;
      expect(stored).toMatchObject({ id: res.body.user!.id, name: 'Grace', passwordHash: null, disabled: false });
      const [created] = (await hub.deps.audit.query({ type: 'user.created' }, { limit: 5 })).items;
      expect(created).toMatchObject({ userId: stored.id, details: { roles: 'admin', magicLinkOnly: true, invited: true } });
      expect(created!.actor).toMatch(/^admin-token:/);
      const [mail] = await mails(hub, 1);
      expect(mail).toMatch(/^To: Grace@example\.com/im);
      expect(mail).toContain(`${hubOrigin}/login`);

      const quiet = await call('/users', token, { email: 'lin@example.com', invite: false });
      expect(quiet.status).toBe(201);
      expect(quiet.body.user!.roles).toEqual([]);
      await new Promise((r) => setTimeout(r, 100));
      expect(await mails(hub, 1)).toHaveLength(1);
    });

    it.each([
      ['a taken address', { email: 'ADA@example.com' }, 409, 'ERR_USER_EXISTS'],
      ['an address with a header in it', { email: 'x@example.com\nBcc: y@example.com' }, 400, 'ERR_EMAIL_INVALID'],
      ['an address over 254 octets in NFC, typed decomposed', { email: overLimitInNfc }, 400, 'ERR_EMAIL_INVALID'],
      ['an address within 254 octets as typed, over them in NFC', { email: growsOverLimitInNfc }, 400, 'ERR_EMAIL_INVALID'],
      ['a missing address', { name: 'Nobody' }, 400, 'ERR_BAD_REQUEST'],
      ['admin as a string', { email: 'z@example.com', admin: 'yes' }, 400, 'ERR_BAD_REQUEST'],
      ['a misspelt option', { email: 'z@example.com', invte: false }, 400, 'ERR_BAD_REQUEST'],
      ['a name with a right-to-left override', { email: 'z@example.com', name: 'Zed\u202Egnp.exe' }, 400, 'ERR_BAD_REQUEST'],
    ])('refuses %s and stores nothing', async (_name, body, status, code) => {
      const token = await tokenWith('users:write');
      const before = (await hub.deps.users.list({}, { limit: 10 })).items;
      expect(await call('/users', token, body)).toMatchObject({ status, body: { error: { code } } });
      expect((await hub.deps.users.list({}, { limit: 10 })).items).toEqual(before);
      expect((await hub.deps.audit.query({ type: 'user.created' }, { limit: 5 })).items).toEqual([]);
    });

    it('creates a user whose address is within the limits in NFC though longer as typed, and stores the NFC form', async () => {
      const token = await tokenWith('users:write');
      const res = await call('/users', token, { email: atLimitInNfc, invite: false });
      expect(res.status).toBe(201);
      expect(res.body.user!.email).toBe(atLimitInNfc.normalize('NFC'));
      expect((await hub.deps.users.findById(res.body.user!.id))!.email).toBe(atLimitInNfc.normalize('NFC'));
    });

    it('needs the users:write scope to create or delete', async () => {
      const token = await tokenWith('users:read', 'sessions:revoke');
      expect(await call('/users', token, { email: 'z@example.com' })).toMatchObject({ status: 403, body: { error: { code: 'ERR_FORBIDDEN' } } });
      expect(await call(`/users/${ada.id}/delete`, token)).toMatchObject({ status: 403, body: { error: { code: 'ERR_FORBIDDEN' } } });
      expect(await hub.deps.users.findById(ada.id)).not.toBeNull();
      expect(await hub.deps.users.findByEmail('z@example.com')).toBeNull();
    });

    it("turns a user's two-step sign-in off, keeping their sessions", async () => {
      const token = await tokenWith('users:write');
      await hub.deps.users.setTotp(ada.id, { secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', recoveryCodeHashes: ['a'.repeat(64)] });
      const res = await call(`/users/${ada.id}/two-step/reset`, token);
      expect(res.status).toBe(200);
      expect(res.body.user).toMatchObject({ id: ada.id, totpEnabled: false });
      expect(await hub.deps.users.totpState(ada.id)).toBeNull();
      expect(await hub.deps.sessions.get(adaSession.sid)).not.toBeNull();
      const [event] = (await hub.deps.audit.query({ type: 'user.updated' }, { limit: 5 })).items;
      expect(event).toMatchObject({ userId: ada.id, details: { change: 'two-step-reset' } });
      const [mail] = await mails(hub, 1);
      expect(mail).toMatch(/^To: ada@example\.com/m);
      expect(mail).toMatch(/^Subject: Two-step sign-in was turned off for your Tessera account/m);
      expect(await call('/users/nobody/two-step/reset', token)).toMatchObject({ status: 404, body: { error: { code: 'ERR_USER_NOT_FOUND' } } });
    });

    it('deletes a user: sessions end everywhere first, then the account; 404 for an unknown id', async () => {
      const token = await tokenWith('users:write');
      expect(await call(`/users/${ada.id}/delete`, token)).toEqual({ status: 200, body: { deleted: ada.id, endedSessions: 1 } });
      expect(await hub.deps.users.findById(ada.id)).toBeNull();
      expect(await hub.deps.sessions.get(adaSession.sid)).toBeNull();
      const deliveries = (await hub.deps.outbox.list({}, { limit: 5 })).items;
      expect(deliveries.map((d) => [d.site, d.sid, d.reason])).toEqual([[shop, adaSession.sid, 'user-deleted']]);
      const actions = (await hub.deps.audit.query({ type: 'admin.action' }, { limit: 5 })).items;
      expect(actions[0]!.details).toEqual({ action: 'user.delete', target: ada.id });
      expect(await call(`/users/${ada.id}/delete`, token)).toMatchObject({ status: 404, body: { error: { code: 'ERR_USER_NOT_FOUND' } } });
    });
  });

  describe('through the admin web UI', () => {
    async function signInAsRoot(): Promise<{ client: CookieClient; csrf: string }> {
      const client = new CookieClient(hub.url);
      const page = await client.get('/login');
      const res = await client.post('/login', { _csrf: csrfFrom(page.body), email: 'root@example.com', password }, sameOrigin);
      expect([200, 303]).toContain(res.status);
      const users = await client.get('/admin/users');
      expect(users.status).toBe(200);
      return { client, csrf: csrfFrom(users.body) };
    }

    it('adds a user from the users page', async () => {
      const { client, csrf } = await signInAsRoot();
      const res = await client.post('/admin/users', { _csrf: csrf, email: 'grace@example.com', name: ' Grace ', invite: '1' }, sameOrigin);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/admin/users?done=created');
      expect(await hub.deps.users.findByEmail('grace@example.com')).toMatchObject({ name: 'Grace', roles: [], passwordHash: null });
      expect((await client.get('/admin/users?done=created')).body).toContain('User created');
      expect(await mails(hub, 1)).toHaveLength(1);
      const taken = await client.post('/admin/users', { _csrf: csrf, email: 'ada@example.com' }, sameOrigin);
      expect(taken.status).toBe(409);
    });

    it('measures the address limits on its NFC form, and stores that form', async () => {
      const { client, csrf } = await signInAsRoot();
      for (const email of [overLimitInNfc, growsOverLimitInNfc]) {
        const refused = await client.post('/admin/users', { _csrf: csrf, email }, sameOrigin);
        expect(refused.status).toBe(400);
        expect(refused.body).toContain('ERR_EMAIL_INVALID');
      }
      expect((await hub.deps.users.list({}, { limit: 10 })).items.map((u) => u.email).sort()).toEqual(['ada@example.com', 'root@example.com']);
      const res = await client.post('/admin/users', { _csrf: csrf, email: atLimitInNfc }, sameOrigin);
      expect(res.status).toBe(303);
      expect((await hub.deps.users.findByEmail(atLimitInNfc))!.email).toBe(atLimitInNfc.normalize('NFC'));
    });

    it('asks for the password before adding once the sign-in is old, since it can grant the admin role', async () => {
      const { client, csrf } = await signInAsRoot();
      hub.clock.advance(601_000);
      const ask = await client.post('/admin/users', { _csrf: csrf, email: 'eve@example.com', admin: '1' }, sameOrigin);
      expect(ask.status).toBe(200);
      expect(ask.body).toContain('name="password"');
      expect(ask.body).toContain('value="eve@example.com"');
      expect(await hub.deps.users.findByEmail('eve@example.com')).toBeNull();
      const right = await client.post('/admin/users', { _csrf: csrf, email: 'eve@example.com', admin: '1', password }, sameOrigin);
      expect(right.status).toBe(303);
      expect((await hub.deps.users.findByEmail('eve@example.com'))!.roles).toEqual(['admin']);
    });

    it("offers and performs turning off a user's two-step sign-in", async () => {
      await hub.deps.users.setTotp(ada.id, { secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', recoveryCodeHashes: ['a'.repeat(64)] });
      const { client, csrf } = await signInAsRoot();
      const page = await client.get('/admin/users');
      expect(page.body).toContain(`action="/admin/users/${ada.id}/two-step/reset"`);
      expect(page.body).not.toContain(`action="/admin/users/${root.id}/two-step/reset"`);
      const res = await client.post(`/admin/users/${ada.id}/two-step/reset`, { _csrf: csrf }, sameOrigin);
      expect(res.status).toBe(303);
      expect(await hub.deps.users.totpState(ada.id)).toBeNull();
    });

    it('deletes a user, but does not delete or disable the admin acting', async () => {
      const { client, csrf } = await signInAsRoot();
      const page = await client.get('/admin/users');
      expect(page.body).toContain(`action="/admin/users/${ada.id}/delete"`);
      expect(page.body).not.toContain(`action="/admin/users/${root.id}/delete"`);
      const self = await client.post(`/admin/users/${root.id}/delete`, { _csrf: csrf }, sameOrigin);
      expect(self.status).toBe(403);
      expect(await hub.deps.users.findById(root.id)).not.toBeNull();
      expect(page.body).not.toContain(`action="/admin/users/${root.id}/disable"`);
      const disableSelf = await client.post(`/admin/users/${root.id}/disable`, { _csrf: csrf }, sameOrigin);
      expect(disableSelf.status).toBe(403);
      expect((await hub.deps.users.findById(root.id))!.disabled).toBe(false);
      const res = await client.post(`/admin/users/${ada.id}/delete`, { _csrf: csrf }, sameOrigin);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/admin/users?done=deleted');
      expect(await hub.deps.users.findById(ada.id)).toBeNull();
      expect(await hub.deps.sessions.get(adaSession.sid)).toBeNull();
      const noToken = await client.post(`/admin/users/${root.id}/delete`, {}, sameOrigin);
      expect(noToken.status).toBe(403);
    });
  });
});

describe('the notice of a deletion, through a real SMTP server', () => {
  let smtp: SmtpTestServer;
  let hub: TestHub;
  let root: UserRecord;
  let ada: UserRecord;

  beforeEach(async () => {
    smtp = await startSmtpServer();
    const mailer = createMailer({ transport: 'smtp', from: 'login@hub.example.com', smtp: { host: '127.0.0.1', port: smtp.port, secure: false } }, silentLogger());
    hub = await startTestHub({ mailer });
    const passwordHash = await hashPassword(password);
    root = await hub.deps.users.create({ email: 'root@example.com', passwordHash, roles: ['admin'] });
    ada = await hub.deps.users.create({ email: 'Ada@Example.com', passwordHash });
  });
  afterEach(async () => {
    await hub.close();
    await smtp.close();
  });

  /** The one message the hub sent (it does not wait for the mail before answering). */
  async function onlyMail() {
    for (let i = 0; i < 100 && smtp.messages.length === 0; i += 1) await new Promise((r) => setTimeout(r, 20));
    expect(smtp.messages).toHaveLength(1);
    return { envelope: smtp.messages[0]!, mail: readMessage(smtp.messages[0]!.raw) };
  }

  it('tells the owner, at the address the account had, once the API deleted it', async () => {
    const { token } = await hub.deps.adminTokens.create({ name: 'test', scopes: ['users:write'], createdBy: 'cli', expiresAt: null });
    const res = await fetch(`${hub.url}/api/v1/admin/users/${ada.id}/delete`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await hub.deps.users.findById(ada.id)).toBeNull();
    const { envelope, mail } = await onlyMail();
    expect([envelope.from, envelope.to]).toEqual(['login@hub.example.com', ['Ada@example.com']]);
    expect(mail.headers.subject).toBe('Your Tessera account was deleted');
    expect(mail.text).toContain('An administrator deleted your Tessera account at 2026-11-22 12:00 UTC.');
    expect(mail.text).toContain('You were signed out everywhere');
  });

  it('tells the owner when the admin UI deleted the account, and nobody when the deletion was refused', async () => {
    const client = new CookieClient(hub.url);
    const login = await client.get('/login');
    expect([200, 303]).toContain((await client.post('/login', { _csrf: csrfFrom(login.body), email: 'root@example.com', password }, sameOrigin)).status);
    const csrf = csrfFrom((await client.get('/admin/users')).body);
    expect((await client.post(`/admin/users/${root.id}/delete`, { _csrf: csrf }, sameOrigin)).status).toBe(403);
    expect((await client.post(`/admin/users/${ada.id}/delete`, { _csrf: csrf }, sameOrigin)).status).toBe(303);
    const { envelope, mail } = await onlyMail();
    expect(envelope.to).toEqual(['Ada@example.com']);
    expect(mail.headers.subject).toBe('Your Tessera account was deleted');
  });
});
