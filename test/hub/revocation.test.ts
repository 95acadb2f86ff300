/**
 * Revocation at the hub (src/hub/revocation/revoke.ts) from every hub entry point: the session
 * and its links leave the store at once, a `session.revoked` audit event names actor and reason,
 * one outbox delivery is queued per SDK site with a back-channel URI, and the hub-as-receiver
 * refuses the session's remaining handoff tokens. Also the front-channel beacon, logout started
 * from a site, and the site API's status and logout calls.
 */
import { createHash } from 'node:crypto';
import { nowSeconds } from '../../src/core/clock';
import { TesseraError } from '../../src/core/errors';
import { hashSecret, newSecret } from '../../src/core/sessions/session';
import { mintLogout } from '../../src/core/tokens/logout';
import { revokeSession, revokeUserSessions } from '../../src/hub/revocation/revoke';
import type { AuditEvent, Delivery } from '../../src/ports';
import { hashPassword } from '../../src/users/password';
import {
  BLOG,
  Browser,
  HUB_HOST,
  SHOP,
  SHOP_HOST,
  WWW,
  claimsFor,
  credentials,
  forge,
  formField,
  goodHeader,
  signedInSession,
  startHandoffHub,
  type HandoffHub,
} from './handoff-support';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const WWW_BACKCHANNEL = `${WWW}/shared-session/backchannel-logout`;

function sites(): unknown[] {
  return [
    { origin: SHOP, claims: ['email'], credentialHash: sha256(credentials.shop) },
    { origin: WWW, claims: ['email'], credentialHash: sha256(credentials.www), backchannelLogoutUri: WWW_BACKCHANNEL },
    { origin: BLOG, receiverPath: '/sso/', beacon: 'image', cookie: { name: 'blog_sid', sameSite: 'lax' } },
  ];
}

describe('revocation at the hub', () => {
  let hub: HandoffHub;
  let browser: Browser;

  beforeEach(async () => {
    hub = await startHandoffHub({ TESSERA_SITES: JSON.stringify(sites()) });
    browser = new Browser(hub.url);
  });
  afterEach(() => hub.close());

  /** A signed-in session held by SHOP (hub cookie for that site in the jar) and by WWW. */
  async function sessionOnSites() {
    const signed = await signedInSession(hub);
    const shopSecret = newSecret();
    const now = nowSeconds(hub.clock);
    await hub.deps.sessions.linkSite(signed.record.sid, { site: SHOP, linkedAt: now, src: HUB_HOST, secretHash: hashSecret(shopSecret), projectionKey: null });
    await hub.deps.sessions.linkSite(signed.record.sid, { site: WWW, linkedAt: now, src: HUB_HOST, secretHash: null, projectionKey: null });
    browser.jar(hub.ownHost).set('__Host-tessera', signed.hubCookie);
    browser.jar(SHOP_HOST).set('tessera_session', `${signed.record.sid}.${shopSecret}`);
    return signed;
  }

  async function revokedEvents(): Promise<AuditEvent[]> {
    return (await hub.deps.audit.query({ type: 'session.revoked' }, { limit: 50 })).items;
  }

  async function deliveries(): Promise<Delivery[]> {
    return (await hub.deps.outbox.list({}, { limit: 50 })).items;
  }

  async function csrfFrom(path: string): Promise<string> {
    return formField((await browser.get(hub.ownHost, path)).body, '_csrf');
  }

  it('POST /logout ends the session everywhere, audits it, queues the SDK site, and fires front-channel beacons', async () => {
    const { user, record } = await sessionOnSites();
    const shopToken = forge(hub, goodHeader(hub), claimsFor(hub, SHOP, record.sid));
    const page = await browser.request(hub.ownHost, 'POST', '/logout', { form: { _csrf: await csrfFrom('/logout') } });
    expect(page.status).toBe(200);
    expect(await hub.deps.sessions.get(record.sid)).toBeNull();

    const [event] = await revokedEvents();
    expect(event).toMatchObject({ type: 'session.revoked', actor: `user:${user.id}`, userId: user.id, sid: record.sid, reason: 'user-logout' });
    const queued = await deliveries();
    expect(queued.map((d) => ({ site: d.site, uri: d.uri, sid: d.sid, sub: d.sub, reason: d.reason, status: d.status }))).toEqual([
      { site: WWW, uri: WWW_BACKCHANNEL, sid: record.sid, sub: user.id, reason: 'user-logout', status: 'pending' },
    ]);

    const beacons = [...page.body.matchAll(/<img class="beacon" src="([^"]+)"/g)].map((m) => m[1]!.replaceAll('&amp;', '&'));
    expect(beacons.map((url) => url.replace(/\?token=.*$/, '')).sort()).toEqual([`${SHOP}/shared-session/logout`, `${WWW}/shared-session/logout`]);

    // The front-channel beacon clears the hub-as-receiver site's cookie, once.
    const shopBeacon = new URL(beacons.find((url) => url.startsWith(SHOP))!);
    const cleared = await browser.get(SHOP_HOST, `${shopBeacon.pathname}${shopBeacon.search}`);
    expect(cleared.status).toBe(200);
    expect(cleared.headers['content-type']).toBe('image/gif');
    expect(cleared.headers['cache-control']).toBe('no-store');
    expect(cleared.setCookies.some((line) => line.startsWith('tessera_session=;') && /max-age=0/i.test(line))).toBe(true);
    expect(browser.jar(SHOP_HOST).has('tessera_session')).toBe(false);
    const replayed = await browser.get(SHOP_HOST, `${shopBeacon.pathname}${shopBeacon.search}`);
    expect(replayed.status).toBe(400);
    expect(replayed.headers['content-type']).toBe('image/gif');

    // A handoff token minted before the logout is refused by the hub-as-receiver.
    hub.logs.clear();
    const late = await browser.get(SHOP_HOST, `/shared-session/${shopToken}.js`);
    expect(late.status).toBe(400);
    expect(hub.logs.codes('handoff rejected')).toEqual(['ERR_HANDOFF_SESSION_ENDED']);
    expect(browser.jar(SHOP_HOST).has('tessera_session')).toBe(false);
  });

  it('the front-channel endpoint refuses a handoff token and leaves the cookie', async () => {
    const { record } = await sessionOnSites();
    const handoff = forge(hub, goodHeader(hub), claimsFor(hub, SHOP, record.sid));
    const reply = await browser.get(SHOP_HOST, `/shared-session/logout?token=${handoff}`);
    expect(reply.status).toBe(400);
    expect(reply.headers['content-type']).toBe('image/gif');
    expect(browser.jar(SHOP_HOST).has('tessera_session')).toBe(true);
    // A logout token for another site is refused too (audience).
    const forWww = mintLogout(hub.deps.keyring, { audience: WWW, sid: record.sid, sub: null }, { clock: hub.clock, issuer: hub.deps.config.publicUrl });
    expect((await browser.get(SHOP_HOST, `/shared-session/logout?token=${forWww}`)).status).toBe(400);
    expect(browser.jar(SHOP_HOST).has('tessera_session')).toBe(true);
  });

  it('signing in again on a signed-in browser ends the old session everywhere (reason session-replaced)', async () => {
    const { record } = await sessionOnSites();
    const password = 'another good password';
    await hub.deps.users.create({ email: 'bob@example.com', passwordHash: await hashPassword(password) });
    const res = await browser.request(hub.ownHost, 'POST', '/login', { form: { _csrf: await csrfFrom('/login'), email: 'bob@example.com', password }, headers: { origin: `https://${HUB_HOST}`, 'sec-fetch-site': 'same-origin' } });
    expect([200, 303]).toContain(res.status);
    expect(await hub.deps.sessions.get(record.sid)).toBeNull();
    expect((await revokedEvents()).map((e) => ({ sid: e.sid, reason: e.reason }))).toEqual([{ sid: record.sid, reason: 'session-replaced' }]);
    expect((await deliveries()).map((d) => ({ site: d.site, sid: d.sid, reason: d.reason }))).toEqual([{ site: WWW, sid: record.sid, reason: 'session-replaced' }]);
  });

  it('queues the back-channel logouts before the session is removed: an outbox failure leaves the session live for a retry', async () => {
    const { record } = await sessionOnSites();
    const enqueue = hub.deps.outbox.enqueue.bind(hub.deps.outbox);
    hub.deps.outbox.enqueue = async () => {
      throw new TesseraError('ERR_STORE_UNAVAILABLE', 'outbox down');
    };
    await expect(revokeSession(hub.deps, record.sid, 'admin', 'cli')).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(await hub.deps.sessions.get(record.sid)).not.toBeNull();
    hub.deps.outbox.enqueue = enqueue;
    expect((await revokeSession(hub.deps, record.sid, 'admin', 'cli'))?.sid).toBe(record.sid);
    expect((await deliveries()).map((d) => d.sid)).toEqual([record.sid]);
  });

  it('an audit store failure does not lose the revocation or its deliveries', async () => {
    const { record } = await sessionOnSites();
    hub.deps.audit.append = async () => {
      throw new TesseraError('ERR_STORE_UNAVAILABLE', 'audit down');
    };
    expect((await revokeSession(hub.deps, record.sid, 'admin', 'cli'))?.sid).toBe(record.sid);
    expect(await hub.deps.sessions.get(record.sid)).toBeNull();
    expect((await deliveries()).map((d) => d.sid)).toEqual([record.sid]);
  });

  it('ending another own session from the account page revokes it with reason user-ended-other', async () => {
    const { user, record } = await sessionOnSites();
    const other = await signedInSession(hub);
    // A second session of the same user.
    const second = { ...other.record, sid: other.record.sid, userId: user.id };
    await hub.deps.sessions.revoke(other.record.sid);
    await hub.deps.sessions.create(second);
    await hub.deps.sessions.linkSite(second.sid, { site: WWW, linkedAt: nowSeconds(hub.clock), src: HUB_HOST, secretHash: null, projectionKey: null });

    const reply = await browser.request(hub.ownHost, 'POST', '/account/sessions/end', { form: { _csrf: await csrfFrom('/account'), sid: second.sid } });
    expect(reply.status).toBe(303);
    expect(await hub.deps.sessions.get(second.sid)).toBeNull();
    expect(await hub.deps.sessions.get(record.sid)).not.toBeNull();
    expect((await revokedEvents()).map((e) => [e.sid, e.reason, e.actor])).toEqual([[second.sid, 'user-ended-other', `user:${user.id}`]]);
    expect((await deliveries()).map((d) => [d.site, d.sid, d.reason])).toEqual([[WWW, second.sid, 'user-ended-other']]);
  });

  it('"sign out everywhere else" revokes every other session of the user and keeps this one', async () => {
    const { user, record } = await sessionOnSites();
    const others: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const extra = await signedInSession(hub);
      await hub.deps.sessions.revoke(extra.record.sid);
      await hub.deps.sessions.create({ ...extra.record, userId: user.id });
      await hub.deps.sessions.linkSite(extra.record.sid, { site: WWW, linkedAt: nowSeconds(hub.clock), src: HUB_HOST, secretHash: null, projectionKey: null });
      others.push(extra.record.sid);
    }
    const reply = await browser.request(hub.ownHost, 'POST', '/account/sessions/end-others', { form: { _csrf: await csrfFrom('/account') } });
    expect(reply.status).toBe(303);
    expect((await hub.deps.sessions.listByUser(user.id)).map((s) => s.sid)).toEqual([record.sid]);
    expect((await revokedEvents()).map((e) => e.sid).sort()).toEqual([...others].sort());
    expect((await revokedEvents()).every((e) => e.reason === 'user-ended-others' && e.actor === `user:${user.id}`)).toBe(true);
    expect((await deliveries()).map((d) => d.sid).sort()).toEqual([...others].sort());
  });

  it('a disabled user seen by the session middleware is revoked with reason user-disabled', async () => {
    const { user, record } = await sessionOnSites();
    await hub.deps.users.setDisabled(user.id, true);
    await browser.get(hub.ownHost, '/account');
    expect(await hub.deps.sessions.get(record.sid)).toBeNull();
    expect((await revokedEvents()).map((e) => [e.sid, e.reason, e.actor])).toEqual([[record.sid, 'user-disabled', 'system']]);
    expect((await deliveries()).map((d) => [d.site, d.reason])).toEqual([[WWW, 'user-disabled']]);
  });

  it('logout started from a hub-as-receiver site ends the session everywhere and returns to the site', async () => {
    const { record } = await sessionOnSites();
    const crossSite = await browser.request(SHOP_HOST, 'POST', '/shared-session/logout', { form: {}, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
    expect(await hub.deps.sessions.get(record.sid)).not.toBeNull();
    // No token on this form: a request whose browser vouches for nothing is refused too.
    const unvouched = await browser.request(SHOP_HOST, 'POST', '/shared-session/logout', { form: {} });
    expect(unvouched.status).toBe(403);
    expect(await hub.deps.sessions.get(record.sid)).not.toBeNull();

    const reply = await browser.request(SHOP_HOST, 'POST', '/shared-session/logout', { form: {}, headers: { 'sec-fetch-site': 'same-origin', origin: SHOP } });
    expect(reply.status).toBe(303);
    expect(reply.location).toBe(`${SHOP}/`);
    expect(browser.jar(SHOP_HOST).has('tessera_session')).toBe(false);
    expect(await hub.deps.sessions.get(record.sid)).toBeNull();
    expect((await revokedEvents()).map((e) => [e.sid, e.reason, e.actor])).toEqual([[record.sid, 'site-logout', `site:${SHOP}`]]);
    expect((await deliveries()).map((d) => [d.site, d.reason])).toEqual([[WWW, 'site-logout']]);
  });

  it('the site API answers status and ends only sessions the calling site holds', async () => {
    const { record } = await sessionOnSites();
    const bystander = await signedInSession(hub);
    const api = (path: string, sid: string, credential: string) =>
      browser.request(hub.ownHost, 'POST', path, { json: { sid }, headers: { authorization: `Bearer ${credential}` } });

    expect((await api('/api/v1/sites/status', record.sid, 'wrong-credential-0123456789')).status).toBe(401);
    expect(JSON.parse((await api('/api/v1/sites/status', record.sid, credentials.www)).body)).toEqual({ active: true });
    expect(JSON.parse((await api('/api/v1/sites/status', 'not a sid', credentials.www)).body)).toEqual({ active: false });

    // WWW never held the bystander's session: it cannot end it.
    expect((await api('/api/v1/sites/logout', bystander.record.sid, credentials.www)).status).toBe(204);
    expect(await hub.deps.sessions.get(bystander.record.sid)).not.toBeNull();

    expect((await api('/api/v1/sites/logout', record.sid, credentials.www)).status).toBe(204);
    expect(await hub.deps.sessions.get(record.sid)).toBeNull();
    expect((await revokedEvents()).map((e) => [e.sid, e.reason, e.actor])).toEqual([[record.sid, 'site-logout', `site:${WWW}`]]);
    expect(JSON.parse((await api('/api/v1/sites/status', record.sid, credentials.www)).body)).toEqual({ active: false });
  });

  it('an SDK site whose link was recorded between the read and the removal still gets its back-channel logout', async () => {
    const { record } = await signedInSession(hub);
    await hub.deps.sessions.linkSite(record.sid, { site: SHOP, linkedAt: nowSeconds(hub.clock), src: HUB_HOST, secretHash: null, projectionKey: null });
    const revoke = hub.deps.sessions.revoke.bind(hub.deps.sessions);
    // WWW's link report lands after revokeSession read the session, before the store removes it.
    hub.deps.sessions.revoke = async (sid) => {
      await hub.deps.sessions.linkSite(sid, { site: WWW, linkedAt: nowSeconds(hub.clock), src: HUB_HOST, secretHash: null, projectionKey: null });
      return revoke(sid);
    };
    expect((await revokeSession(hub.deps, record.sid, 'admin', 'cli'))?.sites.map((l) => l.site).sort()).toEqual([SHOP, WWW].sort());
    expect((await deliveries()).map((d) => [d.site, d.sid, d.reason])).toEqual([[WWW, record.sid, 'admin']]);
  });

  it('a session of the user that appeared between the read and the removal still reaches its SDK sites', async () => {
    const { user, record } = await sessionOnSites();
    const revokeUser = hub.deps.sessions.revokeUser.bind(hub.deps.sessions);
    let late = '';
    // A sign-in completes, and WWW reports its link, after revokeUserSessions listed the sessions.
    hub.deps.sessions.revokeUser = async (userId) => {
      const extra = await signedInSession(hub);
      await hub.deps.sessions.revoke(extra.record.sid);
      await hub.deps.sessions.create({ ...extra.record, userId });
      await hub.deps.sessions.linkSite(extra.record.sid, { site: WWW, linkedAt: nowSeconds(hub.clock), src: HUB_HOST, secretHash: null, projectionKey: null });
      late = extra.record.sid;
      return revokeUser(userId);
    };
    const ended = await revokeUserSessions(hub.deps, user.id, 'admin', 'cli');
    expect(ended.map((s) => s.sid).sort()).toEqual([record.sid, late].sort());
    expect((await deliveries()).map((d) => d.sid).sort()).toEqual([record.sid, late].sort());
  });

  it('revokeSession of a session that is gone records nothing', async () => {
    const { record } = await sessionOnSites();
    expect(await revokeSession(hub.deps, record.sid, 'admin', 'cli')).not.toBeNull();
    expect(await revokeSession(hub.deps, record.sid, 'admin', 'cli')).toBeNull();
    expect(await revokedEvents()).toHaveLength(1);
    expect(await deliveries()).toHaveLength(1);
  });
});

describe('the per-user session limit (end-oldest)', () => {
  it('ends the oldest session through revocation, with reason session-limit', async () => {
    const hub = await startHandoffHub({ TESSERA_SITES: JSON.stringify(sites()), TESSERA_SESSION_MAX_PER_USER: '1', TESSERA_SESSION_ON_LIMIT: 'end-oldest' });
    try {
      const password = 'a long enough password';
      const user = await hub.deps.users.create({ email: 'limit@example.com', passwordHash: await hashPassword(password) });
      const signIn = async (): Promise<string> => {
        const browser = new Browser(hub.url);
        const csrf = formField((await browser.get(hub.ownHost, '/login')).body, '_csrf');
        const reply = await browser.request(hub.ownHost, 'POST', '/login', { form: { _csrf: csrf, email: 'limit@example.com', password } });
        expect(reply.status).toBeLessThan(400);
        return browser.jar(hub.ownHost).get('__Host-tessera')!.split('.')[0]!;
      };
      const first = await signIn();
      await hub.deps.sessions.linkSite(first, { site: WWW, linkedAt: nowSeconds(hub.clock), src: HUB_HOST, secretHash: null, projectionKey: null });
      hub.clock.advance(1000);
      const second = await signIn();
      expect((await hub.deps.sessions.listByUser(user.id)).map((r) => r.sid)).toEqual([second]);
      const events = (await hub.deps.audit.query({ type: 'session.revoked' }, { limit: 5 })).items;
      expect(events.map((e) => [e.sid, e.reason, e.actor])).toEqual([[first, 'session-limit', 'system']]);
      expect((await hub.deps.outbox.list({}, { limit: 5 })).items.map((d) => [d.site, d.sid, d.reason])).toEqual([[WWW, first, 'session-limit']]);
    } finally {
      await hub.close();
    }
  });
});

