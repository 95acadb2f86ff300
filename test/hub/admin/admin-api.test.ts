/**
 * The admin API over HTTP against the real hub: bearer-token authentication and scopes, the
 * filters and paging of the lists, revocation through the one revocation operation (store,
 * audit, outbox) and an `admin.action` audit event for every action.
 */
import { nowSeconds } from '../../../src/core/clock';
import { createSessionRecord } from '../../../src/core/sessions/session';
import type { UserJson } from '../../../src/hub/admin/present';
import type { AdminScope, SessionRecord, UserRecord } from '../../../src/ports';
import { startTestHub, testConfig, type TestHub } from '../../support/hub';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const policy = { idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 43200, touchIntervalSeconds: 60 };
const shop = 'https://shop.example.com';

/** The parts of admin API answers these tests look at. */
interface ApiBody {
  items: Array<{ sid: string; id: string; type: string }>;
  nextCursor: string;
  revoked: string[];
  user: object;
  key: { kid: string };
  error: { code: string };
}

describe('admin API', () => {
  let hub: TestHub;
  let ada: UserRecord;
  let bob: UserRecord;
  let adaSessions: SessionRecord[];
  let bobSession: SessionRecord;

  async function tokenWith(...scopes: AdminScope[]): Promise<{ token: string; id: string }> {
    const created = await hub.deps.adminTokens.create({ name: 'test', scopes, createdBy: 'cli', expiresAt: null });
    return { token: created.token, id: created.record.id };
  }

  async function call(method: 'GET' | 'POST', path: string, token: string | null): Promise<{ status: number; body: ApiBody }> {
    const res = await fetch(`${hub.url}/api/v1/admin${path}`, { method, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as ApiBody };
  }

  async function newSession(user: UserRecord, ip: string, at: number, sites: string[] = []): Promise<SessionRecord> {
    const { record } = createSessionRecord({ userId: user.id, ip, userAgent: 'Firefox', now: at }, policy);
    await hub.deps.sessions.create(record);
    for (const site of sites) await hub.deps.sessions.linkSite(record.sid, { site, linkedAt: at, src: site, secretHash: null, projectionKey: null });
    return (await hub.deps.sessions.get(record.sid))!;
  }

  beforeEach(async () => {
    hub = await startTestHub({
      config: testConfig({ TESSERA_SITES: JSON.stringify([{ origin: shop, backchannelLogoutUri: `${shop}/backchannel-logout` }]) }),
    });
    ada = await hub.deps.users.create({ email: 'ada@example.com' });
    bob = await hub.deps.users.create({ email: 'bob@example.com' });
    const now = nowSeconds(hub.clock);
    adaSessions = [await newSession(ada, '192.0.2.1', now - 100, [shop]), await newSession(ada, '192.0.2.2', now - 50)];
    bobSession = await newSession(bob, '192.0.2.3', now - 10);
  });
  afterEach(() => hub.close());

  it('refuses a missing, malformed or revoked token with 401 ERR_ADMIN_TOKEN and a missing scope with 403', async () => {
    expect(await call('GET', '/sessions', null)).toMatchObject({ status: 401, body: { error: { code: 'ERR_ADMIN_TOKEN' } } });
    expect(await call('GET', '/sessions', 'tsa_nope')).toMatchObject({ status: 401, body: { error: { code: 'ERR_ADMIN_TOKEN' } } });
    const { token, id } = await tokenWith('users:read');
    expect(await call('GET', '/sessions', token)).toMatchObject({ status: 403, body: { error: { code: 'ERR_FORBIDDEN' } } });
    expect(await call('POST', `/sessions/${bobSession.sid}/revoke`, token)).toMatchObject({ status: 403, body: { error: { code: 'ERR_FORBIDDEN' } } });
    expect(await hub.deps.sessions.get(bobSession.sid)).not.toBeNull();
    expect((await call('GET', '/users', token)).status).toBe(200);
    await hub.deps.adminTokens.revoke(id);
    expect(await call('GET', '/users', token)).toMatchObject({ status: 401, body: { error: { code: 'ERR_ADMIN_TOKEN' } } });
  });

  it('lists sessions by user e-mail, ip, site and time, with paging, and never shows secrets', async () => {
    const { token } = await tokenWith('sessions:read');
    const byEmail = await call('GET', '/sessions?email=ADA@example.com', token);
    expect(byEmail.body.items.map((s) => s.sid)).toEqual([adaSessions[1]!.sid, adaSessions[0]!.sid]);
    expect(byEmail.body.items[0]).not.toHaveProperty('secretHash');
    expect(byEmail.body.items[0]).not.toHaveProperty('data');
    expect((await call('GET', '/sessions?email=nobody@example.com', token)).body.items).toEqual([]);
    expect((await call('GET', '/sessions?ip=192.0.2.3', token)).body.items.map((s) => s.sid)).toEqual([bobSession.sid]);
    expect((await call('GET', `/sessions?site=${encodeURIComponent(shop)}`, token)).body.items.map((s) => s.sid)).toEqual([adaSessions[0]!.sid]);
    const now = nowSeconds(hub.clock);
    expect((await call('GET', `/sessions?createdFrom=${now - 60}`, token)).body.items).toHaveLength(2);
    const first = await call('GET', '/sessions?limit=2', token);
    expect(first.body.items).toHaveLength(2);
    const second = await call('GET', `/sessions?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`, token);
    expect(second.body).toMatchObject({ items: [{ sid: adaSessions[0]!.sid }], nextCursor: null });
    expect(await call('GET', '/sessions?limit=0', token)).toMatchObject({ status: 400, body: { error: { code: 'ERR_BAD_REQUEST' } } });
    expect(await call('GET', '/sessions?site=not-a-url', token)).toMatchObject({ status: 400, body: { error: { code: 'ERR_BAD_REQUEST' } } });
    expect(await call('GET', `/sessions/${bobSession.sid}`, token)).toMatchObject({ status: 200, body: { sid: bobSession.sid, ip: '192.0.2.3' } });
    expect((await call('GET', '/sessions/AAAAAAAAAAAAAAAAAAAAAA', token)).body.error.code).toBe('ERR_NOT_FOUND');
  });

  it('finds the sessions of an address typed longer than it is in NFC, the form it is stored in', async () => {
    const { token } = await tokenWith('sessions:read');
    // "ǖ" typed decomposed (u, U+0308, U+0304) is three code units; in NFC (U+01D6) one, of two octets.
    const label = 'u\u0308\u0304'.repeat(30);
    const typed = `aaaaaaaaaa@${[label, label, label, label].join('.')}`;
    expect([typed.length, Buffer.byteLength(typed.normalize('NFC'))]).toEqual([374, 254]);
    const long = await hub.deps.users.create({ email: typed.normalize('NFC') });
    const session = await newSession(long, '192.0.2.9', nowSeconds(hub.clock));
    const found = await call('GET', `/sessions?email=${encodeURIComponent(typed)}`, token);
    expect(found).toMatchObject({ status: 200, body: { nextCursor: null } });
    expect(found.body.items.map((s) => s.sid)).toEqual([session.sid]);
  });

  it('revokes one session: gone from the store, audited with the token as actor, back-channel logout queued', async () => {
    const { token, id } = await tokenWith('sessions:revoke');
    const target = adaSessions[0]!;
    expect(await call('POST', `/sessions/${target.sid}/revoke`, token)).toMatchObject({ status: 200, body: { revoked: [target.sid] } });
    expect(await hub.deps.sessions.get(target.sid)).toBeNull();
    expect(await hub.deps.sessions.get(adaSessions[1]!.sid)).not.toBeNull();
    const revoked = await hub.deps.audit.query({ type: 'session.revoked' }, { limit: 10 });
    expect(revoked.items).toEqual([expect.objectContaining({ sid: target.sid, reason: 'admin', actor: `admin-token:${id}` })]);
    const actions = await hub.deps.audit.query({ type: 'admin.action' }, { limit: 10 });
    expect(actions.items).toEqual([expect.objectContaining({ actor: `admin-token:${id}`, details: { action: 'session.revoke', target: target.sid } })]);
    const outbox = await hub.deps.outbox.list({}, { limit: 10 });
    expect(outbox.items).toEqual([expect.objectContaining({ site: shop, sid: target.sid, reason: 'admin', status: 'pending' })]);
    expect((await call('POST', `/sessions/${target.sid}/revoke`, token)).body.error.code).toBe('ERR_NOT_FOUND');
  });

  it('revokes every session of a user', async () => {
    const { token } = await tokenWith('sessions:revoke');
    const res = await call('POST', `/users/${ada.id}/sessions/revoke`, token);
    expect(res.status).toBe(200);
    expect(res.body.revoked.sort()).toEqual(adaSessions.map((s) => s.sid).sort());
    expect(await hub.deps.sessions.listByUser(ada.id)).toEqual([]);
    expect(await hub.deps.sessions.get(bobSession.sid)).not.toBeNull();
    expect((await call('POST', '/users/unknown/sessions/revoke', token)).body.error.code).toBe('ERR_USER_NOT_FOUND');
  });

  it('e-mails the person whose sessions an admin ended, only when admin.notifyOnRevoke is on', async () => {
    const { token } = await tokenWith('sessions:revoke');
    const mails = () => readdirSync(hub.mailDir).filter((f) => f.endsWith('.eml'));
    expect((await call('POST', `/sessions/${bobSession.sid}/revoke`, token)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(mails()).toEqual([]);

    await hub.close();
    hub = await startTestHub({ config: testConfig({ TESSERA_ADMIN_NOTIFY_REVOKE: 'true' }) });
    const carol = await hub.deps.users.create({ email: 'carol@example.com' });
    const session = await newSession(carol, '192.0.2.9', nowSeconds(hub.clock));
    const admin = await tokenWith('sessions:revoke');
    expect((await call('POST', `/users/${carol.id}/sessions/revoke`, admin.token)).body.revoked).toEqual([session.sid]);
    for (let i = 0; i < 100 && mails().length === 0; i += 1) await new Promise((r) => setTimeout(r, 20));
    expect(mails()).toHaveLength(1);
    const mail = readFileSync(join(hub.mailDir, mails()[0]!), 'utf8');
    expect(mail).toMatch(/^To: carol@example\.com/m);
    expect(mail).toMatch(/^Subject: You were signed out of Tessera/m);
    expect(mail).toContain('ended all of your Tessera sessions');

    // One session of two ended: the notice says one, and that the others go on.
    const [first] = [await newSession(carol, '192.0.2.9', nowSeconds(hub.clock)), await newSession(carol, '192.0.2.10', nowSeconds(hub.clock))];
    expect((await call('POST', `/sessions/${first.sid}/revoke`, admin.token)).status).toBe(200);
    for (let i = 0; i < 100 && mails().length === 1; i += 1) await new Promise((r) => setTimeout(r, 20));
    const second = mails().map((f) => readFileSync(join(hub.mailDir, f), 'utf8')).find((m) => m !== mail);
    expect(second).toContain('ended one of your Tessera sessions');
    expect(second).not.toContain('everywhere');
  });

  it('disables a user (ending their sessions, reason user-disabled) and enables them again', async () => {
    const { token } = await tokenWith('users:write');
    const res = await call('POST', `/users/${ada.id}/disable`, token);
    expect(res).toMatchObject({ status: 200, body: { user: { id: ada.id, disabled: true } } });
    expect(res.body.user).not.toHaveProperty('passwordHash');
    expect(res.body.revoked).toHaveLength(2);
    expect((await hub.deps.users.findById(ada.id))!.disabled).toBe(true);
    expect(await hub.deps.sessions.listByUser(ada.id)).toEqual([]);
    const revoked = await hub.deps.audit.query({ type: 'session.revoked' }, { limit: 10 });
    expect(revoked.items.map((e) => e.reason)).toEqual(['user-disabled', 'user-disabled']);
    expect(await call('POST', `/users/${ada.id}/enable`, token)).toMatchObject({ status: 200, body: { user: { disabled: false }, revoked: [] } });
    expect((await hub.deps.users.findById(ada.id))!.disabled).toBe(false);
    const actions = await hub.deps.audit.query({ type: 'admin.action' }, { limit: 10 });
    expect(actions.items.map((e) => e.details.action)).toEqual(['user.enable', 'user.disable']);
  });

  it('lists users with filters and no password hashes', async () => {
    const { token } = await tokenWith('users:read');
    await hub.deps.users.setDisabled(bob.id, true);
    const res = await call('GET', '/users?disabled=true', token);
    expect(res.body).toEqual({ items: [expect.objectContaining({ email: 'bob@example.com', disabled: true, hasPassword: false })], nextCursor: null });
    expect(res.body.items[0]).not.toHaveProperty('passwordHash');
    expect((await call('GET', '/users?email=ADA', token)).body.items.map((u) => u.id)).toEqual([ada.id]);
  });

  it('shows whether two-step sign-in is on, never its secret or recovery codes', async () => {
    const { token } = await tokenWith('users:read');
    await hub.deps.users.setTotp(ada.id, { secret: 'JBSWY3DPEHPK3PXP', recoveryCodeHashes: ['a'.repeat(64)] });
    const res = await call('GET', '/users', token);
    expect((res.body.items as unknown as UserJson[]).map((u) => [u.email, u.totpEnabled])).toEqual([
      ['ada@example.com', true],
      ['bob@example.com', false],
    ]);
    expect(JSON.stringify(res.body)).not.toMatch(/JBSWY3DPEHPK3PXP|aaaaaaaa/);
  });

  it('queries the audit log by type list and user, refusing an unknown type', async () => {
    const { token } = await tokenWith('audit:read');
    await hub.deps.audit.append({ type: 'login.success', userId: ada.id, actor: ada.id });
    await hub.deps.audit.append({ type: 'login.failure', reason: 'ERR_LOGIN_FAILED' });
    await hub.deps.audit.append({ type: 'logout', userId: bob.id, actor: bob.id });
    const res = await call('GET', '/audit?type=login.success,login.failure', token);
    expect(res.body.items.map((e) => e.type)).toEqual(['login.failure', 'login.success']);
    expect((await call('GET', `/audit?user=${bob.id}`, token)).body.items.map((e) => e.type)).toEqual(['logout']);
    expect(await call('GET', '/audit?type=nope', token)).toMatchObject({ status: 400, body: { error: { code: 'ERR_BAD_REQUEST' } } });
  });

  it('lists and rotates keys (audited), each behind its own scope', async () => {
    const read = await tokenWith('keys:read');
    const before = (await call('GET', '/keys', read.token)).body.items;
    expect(before).toEqual([expect.objectContaining({ state: 'active' })]);
    expect(before[0]).not.toHaveProperty('privateKeyPem');
    expect((await call('POST', '/keys/rotate', read.token)).status).toBe(403);
    const rotate = await tokenWith('keys:rotate');
    const res = await call('POST', '/keys/rotate', rotate.token);
    expect(res).toMatchObject({ status: 200, body: { key: { state: 'next' } } });
    expect((await call('GET', '/keys', read.token)).body.items).toHaveLength(2);
    const rotated = await hub.deps.audit.query({ type: 'key.rotated' }, { limit: 10 });
    expect(rotated.items).toEqual([expect.objectContaining({ actor: `admin-token:${rotate.id}`, details: expect.objectContaining({ kid: res.body.key.kid }) })]);
  });

  it('lists the outbox with stats and retries a failed delivery', async () => {
    await hub.deps.outbox.enqueue([{ site: shop, uri: `${shop}/backchannel-logout`, sid: bobSession.sid, sub: bob.id, reason: 'admin' }]);
    const now = nowSeconds(hub.clock);
    const [claimed] = await hub.deps.outbox.claim(now, 1, 'w', 30);
    await hub.deps.outbox.fail(claimed!.id, 'w', now, 'HTTP 503', null);
    const { token } = await tokenWith('outbox:read', 'outbox:retry');
    const listed = await call('GET', '/outbox?status=failed', token);
    expect(listed.body).toMatchObject({ items: [{ id: claimed!.id, status: 'failed', lastError: 'HTTP 503' }], stats: { pending: 0, failed: 1 } });
    expect(await call('POST', `/outbox/${claimed!.id}/retry`, token)).toMatchObject({ status: 200, body: { retried: claimed!.id } });
    expect((await hub.deps.outbox.stats()).pending).toBe(1);
    expect((await call('POST', `/outbox/${claimed!.id}/retry`, token)).body.error.code).toBe('ERR_NOT_FOUND');
    expect(await call('GET', '/outbox?status=lost', token)).toMatchObject({ status: 400, body: { error: { code: 'ERR_BAD_REQUEST' } } });
  });

  it('lists dropped deliveries (their site left the configuration) and queues one again', async () => {
    await hub.deps.outbox.enqueue([{ site: 'https://removed.example.org', uri: 'https://removed.example.org/bcl', sid: bobSession.sid, sub: bob.id, reason: 'admin' }]);
    const now = nowSeconds(hub.clock);
    const [claimed] = await hub.deps.outbox.claim(now, 1, 'w', 30);
    await hub.deps.outbox.drop(claimed!.id, 'w', now, 'site not configured');
    const { token } = await tokenWith('outbox:read', 'outbox:retry');
    const listed = await call('GET', '/outbox?status=dropped', token);
    expect(listed.body).toMatchObject({ items: [{ id: claimed!.id, status: 'dropped', droppedAt: now, lastError: 'site not configured' }], stats: { pending: 0, failed: 0 } });
    expect(await call('POST', `/outbox/${claimed!.id}/retry`, token)).toMatchObject({ status: 200, body: { retried: claimed!.id } });
    expect((await hub.deps.outbox.stats()).pending).toBe(1);
  });
});
