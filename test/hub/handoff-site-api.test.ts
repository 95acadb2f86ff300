/**
 * The site-to-hub API over real HTTP: bearer credentials checked against the configured hashes,
 * beacons only for sites that do not hold the session, links recorded, and a token from the API
 * accepted by the hub-as-receiver like any other. What a site may do with sessions it does not
 * hold is in site-api-authorization.test.ts.
 */
import { mintHandoff } from '../../src/core/tokens/handoff';
import { Browser, BLOG, BLOG_HOST, HUB, HUB_HOST, SHOP, SHOP_HOST, WWW, WWW_HOST, credentials, payloadOf, signedInSession, startHandoffHub, type HandoffHub, type SignedIn } from './handoff-support';

describe('site API', () => {
  let hub: HandoffHub;
  beforeAll(async () => {
    hub = await startHandoffHub();
  });
  afterAll(() => hub.close());

  const call = (path: string, body: unknown, credential: string | null = credentials.www) =>
    new Browser(hub.url).request(hub.ownHost, 'POST', path, { json: body, headers: credential === null ? {} : { authorization: `Bearer ${credential}` } });

  /** `signed`'s session, now held by each of `origins` (as the hub as receiver would record it). */
  async function heldBy(signed: SignedIn, ...origins: string[]): Promise<SignedIn> {
    for (const site of origins) await hub.deps.sessions.linkSite(signed.record.sid, { site, linkedAt: 0, src: HUB_HOST, secretHash: null, projectionKey: null });
    return signed;
  }

  /** The handoff token the hub would have sent WWW for `signed`'s session: the proof of a link report. */
  const proofFor = (signed: SignedIn): string =>
    mintHandoff(hub.deps.keyring, { audience: WWW, sid: signed.record.sid, sub: signed.user.id, src: HUB_HOST }, { clock: hub.clock, issuer: HUB });

  describe('authentication', () => {
    it.each([
      ['no Authorization header', null],
      ['a wrong credential', 'www-credential-0123456789abcdeX'],
      ['a hash instead of the credential', 'a'.repeat(64)],
      ['a malformed header', 'has spaces in it, not a token'],
    ])('refuses %s with 401 ERR_SITE_CREDENTIAL', async (_name, credential) => {
      const signed = await signedInSession(hub);
      for (const path of ['/api/v1/sites/beacons', '/api/v1/sites/links']) {
        const res = await call(path, { sid: signed.record.sid }, credential);
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="tessera"');
        expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'ERR_SITE_CREDENTIAL' } });
      }
      expect((await hub.deps.sessions.get(signed.record.sid))!.sites).toEqual([]);
    });

    it('refuses another scheme, and takes the Bearer scheme in any case', async () => {
      const signed = await signedInSession(hub);
      const as = (authorization: string) => new Browser(hub.url).request(hub.ownHost, 'POST', '/api/v1/sites/beacons', { json: { sid: signed.record.sid }, headers: { authorization } });
      expect((await as(`Basic ${credentials.www}`)).status).toBe(401);
      expect((await as(`bearer ${credentials.www}`)).status).toBe(200);
    });
  });

  describe('POST /api/v1/sites/beacons', () => {
    it('mints one beacon per other site not holding the session, src = the calling site', async () => {
      const signed = await heldBy(await signedInSession(hub, { roles: ['admin', 'editor'] }), WWW, SHOP);
      const res = await call('/api/v1/sites/beacons', { sid: signed.record.sid });
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const { beacons } = JSON.parse(res.body) as { beacons: { url: string; kind: string }[] };
      // shop holds the session, www is the caller: only blog is left.
      expect(beacons).toHaveLength(1);
      expect(beacons[0]!.kind).toBe('image');
      const match = /^https:\/\/blog\.example\.com\/sso\/([A-Za-z0-9_.-]+)\.gif$/.exec(beacons[0]!.url)!;
      const claims = payloadOf(match[1]!);
      expect(claims).toMatchObject({ iss: HUB, aud: BLOG, dst: BLOG_HOST, src: WWW_HOST, sid: signed.record.sid, sub: signed.user.id });
      // blog allows no identity claims.
      expect(claims).not.toHaveProperty('email');
    });

    it('gives the identity claims each destination allows', async () => {
      const signed = await heldBy(await signedInSession(hub, { roles: ['editor'] }), SHOP);
      const res = await call('/api/v1/sites/beacons', { sid: signed.record.sid }, credentials.shop);
      const { beacons } = JSON.parse(res.body) as { beacons: { url: string; kind: string }[] };
      expect(beacons.map((b) => new URL(b.url).origin)).toEqual([WWW, BLOG]);
      const www = payloadOf(/\/shared-session\/(.+)\.js$/.exec(beacons[0]!.url)![1]!);
      expect(www).toMatchObject({ aud: WWW, src: SHOP_HOST, email: signed.user.email, roles: ['editor'] });
      expect(www).not.toHaveProperty('name');
    });

    it('answers an empty list for an unknown or ended session, and when every other site holds it', async () => {
      const unknown = await call('/api/v1/sites/beacons', { sid: 'A'.repeat(22) });
      expect(JSON.parse(unknown.body)).toEqual({ beacons: [] });
      const ended = await heldBy(await signedInSession(hub), WWW);
      await hub.deps.sessions.revoke(ended.record.sid);
      expect(JSON.parse((await call('/api/v1/sites/beacons', { sid: ended.record.sid })).body)).toEqual({ beacons: [] });
      const warm = await heldBy(await signedInSession(hub), WWW, SHOP, BLOG);
      expect(JSON.parse((await call('/api/v1/sites/beacons', { sid: warm.record.sid })).body)).toEqual({ beacons: [] });
    });

    it('answers an empty list for the session of a disabled user', async () => {
      const signed = await heldBy(await signedInSession(hub), WWW);
      await hub.deps.users.setDisabled(signed.user.id, true);
      expect(JSON.parse((await call('/api/v1/sites/beacons', { sid: signed.record.sid })).body)).toEqual({ beacons: [] });
    });

    it('refuses a malformed sid with 400', async () => {
      for (const body of [{ sid: 'short' }, {}, { sid: 42 }]) {
        const res = await call('/api/v1/sites/beacons', body);
        expect(res.status).toBe(400);
        expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'ERR_BAD_REQUEST' } });
      }
    });

    it('mints tokens the hub-as-receiver accepts from a page of the calling site', async () => {
      const signed = await heldBy(await signedInSession(hub), WWW);
      const { beacons } = JSON.parse((await call('/api/v1/sites/beacons', { sid: signed.record.sid })).body) as { beacons: { url: string }[] };
      const shop = new URL(beacons.find((b) => b.url.startsWith(SHOP))!.url);
      const browser = new Browser(hub.url);
      const res = await browser.get(SHOP_HOST, shop.pathname, { referer: `${WWW}/article` });
      expect(res.status).toBe(200);
      expect((await hub.deps.sessions.get(signed.record.sid))!.sites.find((l) => l.site === SHOP)).toMatchObject({ src: WWW_HOST });
    });
  });

  describe('POST /api/v1/sites/links', () => {
    it('records that the calling site holds the session, after which it gets no beacon', async () => {
      const signed = await heldBy(await signedInSession(hub), SHOP);
      const res = await call('/api/v1/sites/links', { sid: signed.record.sid, token: proofFor(signed) });
      expect(res.status).toBe(204);
      expect(res.body).toBe('');
      // src: the host that embedded the beacon or started the bounce, from the token.
      expect((await hub.deps.sessions.get(signed.record.sid))!.sites).toContainEqual({ site: WWW, linkedAt: Math.floor(hub.clock.now() / 1000), src: HUB_HOST, secretHash: null, projectionKey: null });
      const fromShop = JSON.parse((await call('/api/v1/sites/beacons', { sid: signed.record.sid }, credentials.shop)).body) as { beacons: { url: string }[] };
      expect(fromShop.beacons.map((b) => new URL(b.url).origin)).toEqual([BLOG]);
    });

    it("keeps the link the hub as receiver recorded (its cookie's secret hash, its projection): a report does not sign the site out", async () => {
      const signed = await signedInSession(hub);
      const receiverLink = { site: WWW, linkedAt: 5, src: HUB_HOST, secretHash: 'ab'.repeat(32), projectionKey: 'projection:www:1' };
      await hub.deps.sessions.linkSite(signed.record.sid, receiverLink);
      const res = await call('/api/v1/sites/links', { sid: signed.record.sid, token: proofFor(signed) });
      expect(res.status).toBe(204);
      expect((await hub.deps.sessions.get(signed.record.sid))!.sites).toEqual([receiverLink]);
    });

    it('answers 404 ERR_SESSION_ENDED for an ended session', async () => {
      const signed = await signedInSession(hub);
      const token = proofFor(signed);
      await hub.deps.sessions.revoke(signed.record.sid);
      const res = await call('/api/v1/sites/links', { sid: signed.record.sid, token });
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'ERR_SESSION_ENDED' } });
    });
  });
});
