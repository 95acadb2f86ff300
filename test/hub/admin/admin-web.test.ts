/**
 * The admin web UI over HTTP with a cookie-keeping client: only admins get in (403 for anyone
 * else, on every page and form, and a session cookie opens no admin API), forms need the CSRF
 * token, a revoke really ends the session, and a destructive action after `admin.reauthSeconds`
 * first asks for the password.
 */
import { nowSeconds } from '../../../src/core/clock';
import { createSessionRecord } from '../../../src/core/sessions/session';
import { adminApiRoutes } from '../../../src/hub/admin/api/routes';
import { adminWebRoutes } from '../../../src/hub/admin/web/routes';
import type { SessionRecord, UserRecord } from '../../../src/ports';
import { generate } from 'otplib';
import { hashPassword } from '../../../src/users/password';
import { CookieClient, csrfFrom } from '../../support/client';
import { startTestHub, testConfig, type TestHub } from '../../support/hub';

const hubOrigin = 'https://hub.example.com';
const sameOrigin = { origin: hubOrigin, 'sec-fetch-site': 'same-origin' };
const password = 'correct horse battery staple';
const shop = 'https://shop.example.com';
const policy = { idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 43200, touchIntervalSeconds: 60 };

describe('admin web UI', () => {
  let hub: TestHub;
  let root: UserRecord;
  let ada: UserRecord;
  let target: SessionRecord;

  async function signIn(email: string): Promise<CookieClient> {
    const client = new CookieClient(hub.url, { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' });
    const page = await client.get('/login');
    const res = await client.post('/login', { _csrf: csrfFrom(page.body), email, password }, sameOrigin);
    // 200: with sites configured, the sign-in answers with the page that hands the session out.
    expect([200, 303]).toContain(res.status);
    expect(client.cookies.has('__Host-tessera')).toBe(true);
    return client;
  }

  /** A route path with sample values for its parameters. */
  function concrete(path: string): string {
    return path.replace(':sid', target.sid).replace(':id', ada.id);
  }

  beforeEach(async () => {
    hub = await startTestHub({ config: testConfig({ TESSERA_SITES: JSON.stringify([{ origin: shop, backchannelLogoutUri: `${shop}/backchannel-logout` }]) }) });
    const passwordHash = await hashPassword(password);
    root = await hub.deps.users.create({ email: 'root@example.com', passwordHash, roles: ['admin'] });
    ada = await hub.deps.users.create({ email: 'ada@example.com', passwordHash });
    const { record } = createSessionRecord({ userId: ada.id, ip: '192.0.2.7', userAgent: 'Mozilla/5.0 (Macintosh) Safari/605.1.15', now: nowSeconds(hub.clock) }, policy);
    await hub.deps.sessions.create(record);
    await hub.deps.sessions.linkSite(record.sid, { site: shop, linkedAt: nowSeconds(hub.clock), src: shop, secretHash: null, projectionKey: null });
    await hub.deps.audit.append({ type: 'handoff.accepted', userId: ada.id, sid: record.sid, site: shop });
    target = record;
  });
  afterEach(() => hub.close());

  it('answers 403 ERR_FORBIDDEN to a signed-in non-admin on every admin page and form, and the API refuses a session cookie', async () => {
    const client = await signIn('ada@example.com');
    const csrf = csrfFrom((await client.get('/account')).body);
    for (const factory of adminWebRoutes) {
      const route = factory(hub.deps);
      const res = route.method === 'GET' ? await client.get(concrete(route.path), { accept: 'application/json' }) : await client.post(concrete(route.path), { _csrf: csrf }, { ...sameOrigin, accept: 'application/json' });
      expect([route.name, res.status, JSON.parse(res.body).error.code]).toEqual([route.name, 403, 'ERR_FORBIDDEN']);
    }
    for (const factory of adminApiRoutes) {
      const route = factory(hub.deps);
      const res = await client.request(route.method, concrete(route.path), { headers: { accept: 'application/json' } });
      expect([route.name, res.status, JSON.parse(res.body).error.code]).toEqual([route.name, 401, 'ERR_ADMIN_TOKEN']);
    }
    expect(await hub.deps.sessions.get(target.sid)).not.toBeNull();
    expect((await hub.deps.users.findById(ada.id))!.disabled).toBe(false);
  });

  it('sends a visitor without a session to the login page', async () => {
    const res = await new CookieClient(hub.url).get('/admin/users');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?return_to=%2Fadmin%2Fusers');
  });

  it('lets an admin find a session, see its sites and history, and revoke it with a form post', async () => {
    const client = await signIn('root@example.com');
    const list = await client.get('/admin?email=ada%40example.com');
    expect(list.status).toBe(200);
    expect(list.body).toContain(`data-sid="${target.sid}"`);
    const ownSid = (await hub.deps.sessions.listByUser(root.id))[0]!.sid;
    expect(list.body).not.toContain(`data-sid="${ownSid}"`);
    expect((await client.get('/admin')).body).toContain(`data-sid="${ownSid}"`);
    const detail = await client.get(`/admin/sessions/${target.sid}`);
    expect(detail.body).toContain('192.0.2.7');
    expect(detail.body).toContain('Safari on macOS');
    expect(detail.body).toMatch(/<td>handoff\.accepted<\/td><td>-<\/td><td>[^<]+<\/td><td>https:\/\/shop\.example\.com<\/td>/);
    const res = await client.post(`/admin/sessions/${target.sid}/revoke`, { _csrf: csrfFrom(detail.body) }, sameOrigin);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin?done=revoked');
    expect(await hub.deps.sessions.get(target.sid)).toBeNull();
    const audit = await hub.deps.audit.query({ sid: target.sid, type: 'session.revoked' }, { limit: 5 });
    expect(audit.items).toEqual([expect.objectContaining({ reason: 'admin', actor: `admin:${root.id}` })]);
    expect((await hub.deps.outbox.list({}, { limit: 5 })).items).toEqual([expect.objectContaining({ sid: target.sid, site: shop })]);
    const log = await client.get('/admin/audit?type=admin.action');
    expect(log.body).toContain('session.revoke');
  });

  it('refuses a form post without the CSRF token and changes nothing', async () => {
    const client = await signIn('root@example.com');
    const res = await client.post(`/admin/sessions/${target.sid}/revoke`, {}, { ...sameOrigin, accept: 'application/json' });
    expect([res.status, JSON.parse(res.body).error.code]).toEqual([403, 'ERR_CSRF']);
    expect(await hub.deps.sessions.get(target.sid)).not.toBeNull();
  });

  it('with TESSERA_ADMIN_REQUIRE_TWO_STEP serves only admins who have two-step sign-in on', async () => {
    await hub.close();
    hub = await startTestHub({ config: testConfig({ TESSERA_ADMIN_REQUIRE_TWO_STEP: 'true' }) });
    root = await hub.deps.users.create({ email: 'root@example.com', passwordHash: await hashPassword(password), roles: ['admin'] });
    ada = await hub.deps.users.create({ email: 'ada@example.com' });
    const client = await signIn('root@example.com');
    const page = await client.get('/admin/users');
    expect(page.status).toBe(403);
    expect(page.body).toContain('<a href="/account/two-step">Turn on two-step sign-in</a>');
    const csrf = csrfFrom((await client.get('/account')).body);
    expect((await client.post(`/admin/users/${ada.id}/disable`, { _csrf: csrf }, sameOrigin)).status).toBe(403);
    expect((await hub.deps.users.findById(ada.id))!.disabled).toBe(false);
    await hub.deps.users.setTotp(root.id, { secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', recoveryCodeHashes: [] });
    expect((await client.get('/admin/users')).status).toBe(200);
  });

  it('asks an admin with two-step sign-in on for a code as well as the password', async () => {
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const client = await signIn('root@example.com');
    await hub.deps.users.setTotp(root.id, { secret, recoveryCodeHashes: [] });
    hub.clock.advance(601_000);
    const csrf = csrfFrom((await client.get('/admin/users')).body);
    const ask = await client.post(`/admin/users/${ada.id}/disable`, { _csrf: csrf }, sameOrigin);
    expect(ask.status).toBe(200);
    expect(ask.body).toContain('name="reauth_code"');
    const passwordOnly = await client.post(`/admin/users/${ada.id}/disable`, { _csrf: csrf, password, reauth_code: '000000' }, sameOrigin);
    expect(passwordOnly.status).toBe(401);
    expect((await hub.deps.users.findById(ada.id))!.disabled).toBe(false);
    const code = await generate({ secret, epoch: nowSeconds(hub.clock) });
    const both = await client.post(`/admin/users/${ada.id}/disable`, { _csrf: csrf, password, reauth_code: code }, sameOrigin);
    expect(both.status).toBe(303);
    expect((await hub.deps.users.findById(ada.id))!.disabled).toBe(true);
  });

  it('asks for the password before a destructive action once the sign-in is older than admin.reauthSeconds', async () => {
    const client = await signIn('root@example.com');
    hub.clock.advance(601_000);
    const csrf = csrfFrom((await client.get('/admin/users')).body);
    const ask = await client.post(`/admin/users/${ada.id}/disable`, { _csrf: csrf }, sameOrigin);
    expect(ask.status).toBe(200);
    expect(ask.body).toContain(`action="/admin/users/${ada.id}/disable"`);
    expect(ask.body).toContain('name="password"');
    expect((await hub.deps.users.findById(ada.id))!.disabled).toBe(false);
    const wrong = await client.post(`/admin/users/${ada.id}/disable`, { _csrf: csrf, password: 'not it at all' }, sameOrigin);
    expect(wrong.status).toBe(401);
    expect((await hub.deps.users.findById(ada.id))!.disabled).toBe(false);
    const right = await client.post(`/admin/users/${ada.id}/disable`, { _csrf: csrf, password }, sameOrigin);
    expect(right.status).toBe(303);
    expect((await hub.deps.users.findById(ada.id))!.disabled).toBe(true);
    expect(await hub.deps.sessions.get(target.sid)).toBeNull();
    // Fresh again: the next destructive action within the window needs no password.
    hub.clock.advance(60_000);
    const again = await client.post(`/admin/users/${ada.id}/sessions/revoke`, { _csrf: csrf }, sameOrigin);
    expect(again.status).toBe(303);
    // Enabling is not destructive, and the users page shows the change.
    expect((await client.post(`/admin/users/${ada.id}/enable`, { _csrf: csrf }, sameOrigin)).status).toBe(303);
    expect((await hub.deps.users.findById(ada.id))!.disabled).toBe(false);
  });

  it('shows keys and rotates, and lists failed deliveries and retries one', async () => {
    const client = await signIn('root@example.com');
    const keys = await client.get('/admin/keys');
    expect(keys.body).toContain(hub.deps.keyring.list()[0]!.kid);
    expect((await client.post('/admin/keys/rotate', { _csrf: csrfFrom(keys.body) }, sameOrigin)).status).toBe(303);
    expect(hub.deps.keyring.list().map((k) => k.state).sort()).toEqual(['active', 'next']);
    await hub.deps.outbox.enqueue([{ site: shop, uri: `${shop}/backchannel-logout`, sid: target.sid, sub: ada.id, reason: 'admin' }]);
    const now = nowSeconds(hub.clock);
    const [claimed] = await hub.deps.outbox.claim(now, 1, 'w', 30);
    await hub.deps.outbox.fail(claimed!.id, 'w', now, 'HTTP 503', null);
    const outbox = await client.get('/admin/outbox?status=failed');
    expect(outbox.body).toContain(`data-delivery="${claimed!.id}"`);
    expect(outbox.body).toContain('HTTP 503');
    expect((await client.post(`/admin/outbox/${claimed!.id}/retry`, { _csrf: csrfFrom(outbox.body) }, sameOrigin)).status).toBe(303);
    expect((await hub.deps.outbox.stats()).pending).toBe(1);

    // A delivery dropped because its site left the configuration is listed and can be queued again.
    const [again] = await hub.deps.outbox.claim(now, 1, 'w', 30);
    await hub.deps.outbox.drop(again!.id, 'w', now, 'site not configured');
    const dropped = await client.get('/admin/outbox?status=dropped');
    expect(dropped.status).toBe(200);
    expect(dropped.body).toContain(`data-delivery="${again!.id}"`);
    expect(dropped.body).toContain('site not configured');
    expect(dropped.body).toContain(`action="/admin/outbox/${again!.id}/retry"`);
    expect((await client.post(`/admin/outbox/${again!.id}/retry`, { _csrf: csrfFrom(dropped.body) }, sameOrigin)).status).toBe(303);
    expect((await hub.deps.outbox.stats()).pending).toBe(1);
  });
});
