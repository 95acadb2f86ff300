/**
 * The hub as receiver for shop.example.net, over real HTTP with `Host: shop.example.net`:
 * beacons, every token rejection of SECURITY.md reaching it, the Referer rule, replacement
 * semantics, loader.js, session.json, and that the receiver prefix never falls through to hub
 * pages.
 */
import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { keyThumbprint } from '../../src/core/keys/jwk';
import { SCRIPT_BEACON_BODY, TRANSPARENT_GIF } from '../../src/core/receiver/receiver';
import type { SessionReplacedEvent } from '../../src/core/receiver/receiver';
import { parseCookieValue } from '../../src/core/sessions/session';
import { mintHandoff } from '../../src/core/tokens/handoff';
import {
  BLOG,
  Browser,
  HUB,
  HUB_HOST,
  SHOP,
  SHOP_HOST,
  WWW,
  WWW_HOST,
  claimsFor,
  forge,
  forgeRaw,
  goodHeader,
  payloadOf,
  signedInSession,
  startHandoffHub,
  type HandoffHub,
  type SignedIn,
} from './handoff-support';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');
const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const fromHub = { referer: `${HUB}/` };

function mint(hub: HandoffHub, signed: SignedIn, audience = SHOP, src = HUB_HOST): string {
  return mintHandoff(hub.deps.keyring, { audience, sid: signed.record.sid, sub: signed.user.id, src, identity: { email: signed.user.email } }, { clock: hub.clock, issuer: HUB });
}

describe('hub as receiver: beacons', () => {
  let hub: HandoffHub;
  const events: SessionReplacedEvent[] = [];
  beforeAll(async () => {
    hub = await startHandoffHub();
    hub.deps.events.on('session_replaced', (e) => events.push(e));
  });
  afterAll(() => hub.close());
  beforeEach(() => {
    hub.logs.clear();
    events.length = 0;
  });

  it('accepts a script beacon: site cookie with the configured attributes, link stored, event emitted', async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(hub.url);
    const res = await browser.get(SHOP_HOST, `/shared-session/${mint(hub, signed)}.js`, fromHub);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/javascript; charset=utf-8');
    expect(res.body).toBe(SCRIPT_BEACON_BODY);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.setCookies).toHaveLength(1);
    expect(res.setCookies[0]).toMatch(/^tessera_session=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=None$/);
    const cookie = parseCookieValue(browser.jar(SHOP_HOST).get('tessera_session'))!;
    expect(cookie.sid).toBe(signed.record.sid);
    // The site's secret is its own: not the hub cookie's.
    expect(cookie.secret).not.toBe(parseCookieValue(signed.hubCookie)!.secret);
    const stored = await hub.deps.sessions.get(signed.record.sid);
    expect(stored!.sites).toEqual([{ site: SHOP, linkedAt: expect.any(Number), src: HUB_HOST, secretHash: expect.stringMatching(/^[0-9a-f]{64}$/), projectionKey: null }]);
    expect(events).toEqual([{ type: 'session_replaced', site: SHOP, src: HUB_HOST, sid: signed.record.sid, wasEmpty: true, at: expect.any(Number) }]);
    expect(hub.logs.lines.some((l) => JSON.stringify(l).includes(signed.record.sid) && l.msg === 'handoff accepted')).toBe(true);
  });

  it('accepts an image beacon on a site with its own prefix and cookie', async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(hub.url);
    const res = await browser.get('blog.example.com', `/sso/${mint(hub, signed, BLOG)}.gif`, fromHub);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/gif');
    expect(Buffer.from(res.body, 'latin1').length).toBe(TRANSPARENT_GIF.length);
    expect(res.setCookies[0]).toMatch(/^blog_sid=\S+; Path=\/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax$/);
  });

  it('answers a rejected image beacon with the GIF and a 400, setting nothing', async () => {
    const signed = await signedInSession(hub);
    const res = await new Browser(hub.url).get('blog.example.com', `/sso/${mint(hub, signed, SHOP)}.gif`, fromHub);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('image/gif');
    expect(res.setCookies).toEqual([]);
    expect(hub.logs.codes('handoff rejected')).toEqual(['ERR_HANDOFF_AUDIENCE']);
  });

  describe('rejects, with no cookie, no link and its reason code logged (never the token)', () => {
    let signed: SignedIn;
    beforeAll(async () => {
      signed = await signedInSession(hub);
    });

    const unknownKid = keyThumbprint(otherKey.publicKey);
    const cases: [string, (h: HandoffHub, sid: string) => string, string][] = [
      [
        'HS256 signed with the public key',
        (h, sid) => {
          const input = `${b64(JSON.stringify(goodHeader(h, { alg: 'HS256' })))}.${b64(JSON.stringify(claimsFor(h, SHOP, sid)))}`;
          const secret = createPublicKey(h.deps.keyring.signingKey().privateKey).export({ type: 'spki', format: 'pem' });
          return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
        },
        'ERR_HANDOFF_ALG',
      ],
      ['a wrong key under the real kid', (h, sid) => forge(h, goodHeader(h), claimsFor(h, SHOP, sid), otherKey.privateKey), 'ERR_HANDOFF_SIGNATURE'],
      ['an unknown kid', (h, sid) => forge(h, goodHeader(h, { kid: unknownKid }), claimsFor(h, SHOP, sid), otherKey.privateKey), 'ERR_HANDOFF_KID_UNKNOWN'],
      ['a missing kid', (h, sid) => forge(h, { alg: 'RS256', typ: 'handoff+jwt' }, claimsFor(h, SHOP, sid)), 'ERR_HANDOFF_KID_MISSING'],
      ['a malformed kid', (h, sid) => forge(h, goodHeader(h, { kid: '../../etc/passwd' }), claimsFor(h, SHOP, sid)), 'ERR_HANDOFF_KID_MALFORMED'],
      ['a jku header', (h, sid) => forge(h, goodHeader(h, { jku: 'https://evil.example/jwks.json' }), claimsFor(h, SHOP, sid)), 'ERR_HANDOFF_HEADER_FORBIDDEN'],
      ['an x5u header', (h, sid) => forge(h, goodHeader(h, { x5u: 'https://evil.example/cert.pem' }), claimsFor(h, SHOP, sid)), 'ERR_HANDOFF_HEADER_FORBIDDEN'],
      ['a jwk header', (h, sid) => forge(h, goodHeader(h, { jwk: createPublicKey(otherKey.privateKey).export({ format: 'jwk' }) }), claimsFor(h, SHOP, sid)), 'ERR_HANDOFF_HEADER_FORBIDDEN'],
      ['an x5c header', (h, sid) => forge(h, goodHeader(h, { x5c: ['MIIB'] }), claimsFor(h, SHOP, sid)), 'ERR_HANDOFF_HEADER_FORBIDDEN'],
      ['a crit header', (h, sid) => forge(h, goodHeader(h, { crit: ['exp'] }), claimsFor(h, SHOP, sid)), 'ERR_HANDOFF_HEADER_FORBIDDEN'],
      ['typ JWT', (h, sid) => forge(h, goodHeader(h, { typ: 'JWT' }), claimsFor(h, SHOP, sid)), 'ERR_HANDOFF_TYP'],
      ['typ logout+jwt', (h, sid) => forge(h, goodHeader(h, { typ: 'logout+jwt' }), claimsFor(h, SHOP, sid)), 'ERR_HANDOFF_TYP'],
      ['a missing typ', (h, sid) => forge(h, goodHeader(h, { typ: undefined }), claimsFor(h, SHOP, sid)), 'ERR_HANDOFF_TYP'],
      ['a wrong iss', (h, sid) => forge(h, goodHeader(h), claimsFor(h, SHOP, sid, { iss: 'https://hub.evil.example' })), 'ERR_HANDOFF_ISSUER'],
      ['a wrong aud (another site)', (h, sid) => forge(h, goodHeader(h), claimsFor(h, SHOP, sid, { aud: WWW })), 'ERR_HANDOFF_AUDIENCE'],
      ['a dst that is not this site', (h, sid) => forge(h, goodHeader(h), claimsFor(h, SHOP, sid, { dst: WWW_HOST })), 'ERR_HANDOFF_DESTINATION'],
      ['an unknown src', (h, sid) => forge(h, goodHeader(h), claimsFor(h, SHOP, sid, { src: 'evil.example' })), 'ERR_HANDOFF_SOURCE'],
      ['an expired token', (h, sid) => forge(h, goodHeader(h), claimsFor(h, SHOP, sid, { iat: h.clock.now() / 1000 - 60, exp: h.clock.now() / 1000 - 30 })), 'ERR_HANDOFF_EXPIRED'],
      ['an iat in the future', (h, sid) => forge(h, goodHeader(h), claimsFor(h, SHOP, sid, { iat: h.clock.now() / 1000 + 60, exp: h.clock.now() / 1000 + 90 })), 'ERR_HANDOFF_IAT_FUTURE'],
      ['a lifetime over the cap', (h, sid) => forge(h, goodHeader(h), claimsFor(h, SHOP, sid, { exp: h.clock.now() / 1000 + 121 })), 'ERR_HANDOFF_LIFETIME'],
      ['a missing jti', (h, sid) => forge(h, goodHeader(h), claimsFor(h, SHOP, sid, { jti: undefined })), 'ERR_HANDOFF_JTI_MISSING'],
      ['an oversize token', (h, sid) => forge(h, goodHeader(h), claimsFor(h, SHOP, sid, { padding: 'x'.repeat(4096) })), 'ERR_HANDOFF_OVERSIZE'],
      ['a malformed base64url segment', (h, sid) => `A.${forge(h, goodHeader(h), claimsFor(h, SHOP, sid)).split('.').slice(1).join('.')}`, 'ERR_HANDOFF_MALFORMED'],
      [
        'duplicate JSON keys',
        (h, sid) => forgeRaw(h, JSON.stringify(goodHeader(h)), JSON.stringify(claimsFor(h, SHOP, sid)).replace('{', `{"aud":"${WWW}",`)),
        'ERR_HANDOFF_DUPLICATE_CLAIM',
      ],
    ];

    it.each(cases)('%s', async (_name, make, code) => {
      const token = make(hub, signed.record.sid);
      const res = await new Browser(hub.url).get(SHOP_HOST, `/shared-session/${token}.js`, fromHub);
      expect(res.status).toBe(400);
      expect(res.body).toBe('');
      expect(res.setCookies).toEqual([]);
      expect(res.headers['cache-control']).toBe('no-store');
      expect((await hub.deps.sessions.get(signed.record.sid))!.sites).toEqual([]);
      expect(hub.logs.codes('handoff rejected')).toEqual([code]);
      expect(JSON.stringify(hub.logs.lines)).not.toContain(token.split('.')[2]!.slice(0, 20));
      expect(events).toEqual([]);
    });

    it.each([
      ['alg none (an empty signature cannot even be a beacon path)', (h: HandoffHub, sid: string) => `${b64(JSON.stringify(goodHeader(h, { alg: 'none' })))}.${b64(JSON.stringify(claimsFor(h, SHOP, sid)))}.`, 'ERR_HANDOFF_ALG'],
      ['a character outside base64url', (h: HandoffHub, sid: string) => forge(h, goodHeader(h), claimsFor(h, SHOP, sid)).replace('.', '.+'), 'ERR_HANDOFF_MALFORMED'],
    ])('%s, through the accept route', async (_name, make, code) => {
      const token = make(hub, signed.record.sid);
      const beacon = await new Browser(hub.url).get(SHOP_HOST, `/shared-session/${token}.js`, fromHub);
      expect(beacon.status).toBe(404);
      const browser = new Browser(hub.url);
      const start = await browser.get(SHOP_HOST, '/shared-session/start?return_to=/');
      const state = new URL(start.location!).searchParams.get('state')!;
      hub.logs.clear();
      const res = await browser.request(SHOP_HOST, 'POST', '/shared-session/accept', { form: { token, state, return_to: `${SHOP}/` } });
      expect(res.status).toBe(400);
      expect(res.setCookies).toEqual([]);
      expect(hub.logs.codes('request rejected')).toEqual([code]);
      expect((await hub.deps.sessions.get(signed.record.sid))!.sites).toEqual([]);
      expect(JSON.stringify(hub.logs.lines)).not.toContain(token.split('.')[1]!.slice(0, 20));
    });

    it('a replayed token', async () => {
      const token = mint(hub, signed);
      expect((await new Browser(hub.url).get(SHOP_HOST, `/shared-session/${token}.js`, fromHub)).status).toBe(200);
      const again = await new Browser(hub.url).get(SHOP_HOST, `/shared-session/${token}.js`, fromHub);
      expect(again.status).toBe(400);
      expect(again.setCookies).toEqual([]);
      expect(hub.logs.codes('handoff rejected')).toEqual(['ERR_HANDOFF_REPLAYED']);
    });
  });

  it('refuses a token of a revoked session, setting nothing', async () => {
    const signed = await signedInSession(hub);
    const token = mint(hub, signed);
    await hub.deps.sessions.revoke(signed.record.sid);
    const res = await new Browser(hub.url).get(SHOP_HOST, `/shared-session/${token}.js`, fromHub);
    expect(res.status).toBe(400);
    expect(res.setCookies).toEqual([]);
    expect(hub.logs.codes('handoff rejected')).toEqual(['ERR_HANDOFF_SESSION_ENDED']);
    expect(events).toEqual([]);
  });

  it('refuses a beacon whose Referer or Origin is not the token src', async () => {
    const signed = await signedInSession(hub);
    const byReferer = await new Browser(hub.url).get(SHOP_HOST, `/shared-session/${mint(hub, signed)}.js`, { referer: 'https://evil.example/page' });
    const byOrigin = await new Browser(hub.url).get(SHOP_HOST, `/shared-session/${mint(hub, signed)}.js`, { origin: WWW });
    for (const res of [byReferer, byOrigin]) {
      expect(res.status).toBe(400);
      expect(res.setCookies).toEqual([]);
    }
    expect(hub.logs.codes('handoff rejected')).toEqual(['ERR_HANDOFF_REFERER', 'ERR_HANDOFF_REFERER']);
    expect((await hub.deps.sessions.get(signed.record.sid))!.sites).toEqual([]);
  });

  it('accepts a beacon without Referer or Origin when not strict', async () => {
    const signed = await signedInSession(hub);
    const res = await new Browser(hub.url).get(SHOP_HOST, `/shared-session/${mint(hub, signed)}.js`);
    expect(res.status).toBe(200);
    expect(res.setCookies).toHaveLength(1);
  });

  it('accepts a token embedded by another site, checked against that site', async () => {
    const signed = await signedInSession(hub);
    const res = await new Browser(hub.url).get(SHOP_HOST, `/shared-session/${mint(hub, signed, SHOP, WWW_HOST)}.js`, { referer: `${WWW}/articles/1` });
    expect(res.status).toBe(200);
    expect((await hub.deps.sessions.get(signed.record.sid))!.sites[0]!.src).toBe(WWW_HOST);
  });

  describe('replacement semantics (django-shared-session)', () => {
    it('leaves a live session of the same sid alone, yet spends the jti', async () => {
      const signed = await signedInSession(hub);
      const browser = new Browser(hub.url);
      await browser.get(SHOP_HOST, `/shared-session/${mint(hub, signed)}.js`, fromHub);
      const cookie = browser.jar(SHOP_HOST).get('tessera_session');
      events.length = 0;
      const second = mint(hub, signed);
      const res = await browser.get(SHOP_HOST, `/shared-session/${second}.js`, fromHub);
      expect(res.status).toBe(200);
      expect(res.setCookies).toEqual([]);
      expect(browser.jar(SHOP_HOST).get('tessera_session')).toBe(cookie);
      expect(events).toEqual([]);
      const replay = await new Browser(hub.url).get(SHOP_HOST, `/shared-session/${second}.js`, fromHub);
      expect(replay.status).toBe(400);
      expect(hub.logs.codes('handoff rejected')).toEqual(['ERR_HANDOFF_REPLAYED']);
    });

    it('leaves a different live session alone', async () => {
      const first = await signedInSession(hub);
      const second = await signedInSession(hub);
      const browser = new Browser(hub.url);
      await browser.get(SHOP_HOST, `/shared-session/${mint(hub, first)}.js`, fromHub);
      const res = await browser.get(SHOP_HOST, `/shared-session/${mint(hub, second)}.js`, fromHub);
      expect(res.status).toBe(200);
      expect(res.setCookies).toEqual([]);
      expect(parseCookieValue(browser.jar(SHOP_HOST).get('tessera_session'))!.sid).toBe(first.record.sid);
      expect((await hub.deps.sessions.get(second.record.sid))!.sites).toEqual([]);
    });

    it('replaces a dead session', async () => {
      const first = await signedInSession(hub);
      const second = await signedInSession(hub);
      const browser = new Browser(hub.url);
      await browser.get(SHOP_HOST, `/shared-session/${mint(hub, first)}.js`, fromHub);
      await hub.deps.sessions.revoke(first.record.sid);
      events.length = 0;
      const res = await browser.get(SHOP_HOST, `/shared-session/${mint(hub, second)}.js`, fromHub);
      expect(res.setCookies).toHaveLength(1);
      expect(parseCookieValue(browser.jar(SHOP_HOST).get('tessera_session'))!.sid).toBe(second.record.sid);
      expect(events).toMatchObject([{ sid: second.record.sid, wasEmpty: true }]);
    });

    it('does not adopt a forged site cookie: it counts as no session and is replaced', async () => {
      const signed = await signedInSession(hub);
      const browser = new Browser(hub.url);
      browser.jar(SHOP_HOST).set('tessera_session', `${signed.record.sid}.${'A'.repeat(43)}`);
      const res = await browser.get(SHOP_HOST, `/shared-session/${mint(hub, signed)}.js`, fromHub);
      expect(res.setCookies).toHaveLength(1);
      expect(parseCookieValue(browser.jar(SHOP_HOST).get('tessera_session'))!.secret).not.toBe('A'.repeat(43));
    });
  });

  describe('loader.js', () => {
    it('emits beacons for every other site not holding the session, minted with src = this site', async () => {
      const signed = await signedInSession(hub, { roles: ['editor'] });
      const browser = new Browser(hub.url);
      await browser.get(SHOP_HOST, `/shared-session/${mint(hub, signed)}.js`, fromHub);
      const res = await browser.get(SHOP_HOST, '/shared-session/loader.js');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/javascript; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      const beacons = JSON.parse(/\}\)\((\[.*\])\);\n$/.exec(res.body)![1]!) as { url: string; kind: string }[];
      expect(beacons.map((b) => [new URL(b.url).origin, b.kind])).toEqual([
        [WWW, 'script'],
        [BLOG, 'image'],
      ]);
      expect(beacons[0]!.url).toMatch(/^https:\/\/www\.example\.org\/shared-session\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.js$/);
      expect(beacons[1]!.url).toMatch(/^https:\/\/blog\.example\.com\/sso\/\S+\.gif$/);
      const wwwToken = payloadOf(/\/shared-session\/(.+)\.js$/.exec(beacons[0]!.url)![1]!);
      expect(wwwToken).toMatchObject({ aud: WWW, dst: WWW_HOST, src: SHOP_HOST, sid: signed.record.sid, sub: signed.user.id, email: signed.user.email, roles: ['editor'] });
      expect(wwwToken).not.toHaveProperty('name');
      const blogToken = payloadOf(/\/sso\/(.+)\.gif$/.exec(beacons[1]!.url)![1]!);
      expect(Object.keys(blogToken).sort()).toEqual(['aud', 'dst', 'exp', 'iat', 'iss', 'jti', 'sid', 'src', 'sub']);
    });

    it('is empty without a session, with a forged cookie, and once every site holds the session', async () => {
      const signed = await signedInSession(hub);
      expect((await new Browser(hub.url).get(SHOP_HOST, '/shared-session/loader.js')).body).toBe('');
      const forged = new Browser(hub.url);
      forged.jar(SHOP_HOST).set('tessera_session', `${signed.record.sid}.${'A'.repeat(43)}`);
      expect((await forged.get(SHOP_HOST, '/shared-session/loader.js')).body).toBe('');
      const browser = new Browser(hub.url);
      await browser.get(SHOP_HOST, `/shared-session/${mint(hub, signed)}.js`, fromHub);
      for (const site of [WWW, BLOG]) await hub.deps.sessions.linkSite(signed.record.sid, { site, linkedAt: 0, src: HUB_HOST, secretHash: null, projectionKey: null });
      const res = await browser.get(SHOP_HOST, '/shared-session/loader.js');
      expect(res.status).toBe(200);
      expect(res.body).toBe('');
    });
  });

  describe('session.json', () => {
    it('says who is signed in, with only the claims the site allows', async () => {
      const signed = await signedInSession(hub);
      const browser = new Browser(hub.url);
      await browser.get(SHOP_HOST, `/shared-session/${mint(hub, signed)}.js`, fromHub);
      const res = await browser.get(SHOP_HOST, '/shared-session/session.json');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(JSON.parse(res.body)).toEqual({ sid: signed.record.sid, sub: signed.user.id, email: signed.user.email, name: signed.user.name, createdAt: signed.record.createdAt, src: HUB_HOST });
    });

    it('is a 401 without a cookie, with a forged one, and after revocation', async () => {
      const signed = await signedInSession(hub);
      const browser = new Browser(hub.url);
      await browser.get(SHOP_HOST, `/shared-session/${mint(hub, signed)}.js`, fromHub);
      const forged = new Browser(hub.url);
      forged.jar(SHOP_HOST).set('tessera_session', `${signed.record.sid}.${'A'.repeat(43)}`);
      const none = await new Browser(hub.url).get(SHOP_HOST, '/shared-session/session.json');
      const bad = await forged.get(SHOP_HOST, '/shared-session/session.json');
      await hub.deps.sessions.revoke(signed.record.sid);
      const revoked = await browser.get(SHOP_HOST, '/shared-session/session.json');
      for (const res of [none, bad, revoked]) {
        expect(res.status).toBe(401);
        expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'ERR_NOT_SIGNED_IN' } });
      }
    });
  });

  describe('routing', () => {
    it('never falls through to hub pages under the receiver prefix', async () => {
      const browser = new Browser(hub.url);
      for (const path of ['/shared-session/login', '/shared-session/', '/shared-session/a.b.c+.js', '/shared-session/backchannel-logout']) {
        const res = await browser.get(SHOP_HOST, path);
        expect(res.status).toBe(404);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers['referrer-policy']).toBe('no-referrer');
      }
    });

    it('refuses other methods on a beacon without touching the token', async () => {
      const signed = await signedInSession(hub);
      const token = mint(hub, signed);
      const res = await new Browser(hub.url).request(SHOP_HOST, 'POST', `/shared-session/${token}.js`, { form: {} });
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET');
      expect((await new Browser(hub.url).get(SHOP_HOST, `/shared-session/${token}.js`, fromHub)).status).toBe(200);
    });

    it('serves hub pages for a site host outside the prefix, and is not reached under the hub host', async () => {
      expect((await new Browser(hub.url).get(SHOP_HOST, '/healthz')).status).toBe(200);
      expect((await new Browser(hub.url).get(hub.ownHost, '/shared-session/loader.js')).status).toBe(404);
    });

    it('ignores X-Forwarded-Host unless the proxy is trusted', async () => {
      const headers = { 'x-forwarded-host': SHOP_HOST };
      expect((await new Browser(hub.url).get(hub.ownHost, '/shared-session/loader.js', headers)).status).toBe(404);
      const trusting = await startHandoffHub({ TESSERA_TRUST_PROXY: 'true' });
      try {
        const res = await new Browser(trusting.url).get(trusting.ownHost, '/shared-session/loader.js', headers);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('application/javascript; charset=utf-8');
      } finally {
        await trusting.close();
      }
    });
  });
});

describe('hub as receiver: strict Referer and alwaysReplace', () => {
  let hub: HandoffHub;
  beforeAll(async () => {
    hub = await startHandoffHub({ TESSERA_HANDOFF_STRICT_REFERER: 'true', TESSERA_ALWAYS_REPLACE: 'true' });
  });
  afterAll(() => hub.close());

  it('requires a Referer or Origin in strict mode', async () => {
    const signed = await signedInSession(hub);
    hub.logs.clear();
    const bare = await new Browser(hub.url).get(SHOP_HOST, `/shared-session/${mint(hub, signed)}.js`);
    expect(bare.status).toBe(400);
    expect(bare.setCookies).toEqual([]);
    expect(hub.logs.codes('handoff rejected')).toEqual(['ERR_HANDOFF_REFERER']);
    const withOrigin = await new Browser(hub.url).get(SHOP_HOST, `/shared-session/${mint(hub, signed)}.js`, { origin: HUB });
    expect(withOrigin.status).toBe(200);
  });

  it('replaces a different live session with alwaysReplace, and says it was not empty', async () => {
    const events: SessionReplacedEvent[] = [];
    hub.deps.events.on('session_replaced', (e) => events.push(e));
    const first = await signedInSession(hub);
    const second = await signedInSession(hub);
    const browser = new Browser(hub.url);
    await browser.get(SHOP_HOST, `/shared-session/${mint(hub, first)}.js`, fromHub);
    const res = await browser.get(SHOP_HOST, `/shared-session/${mint(hub, second)}.js`, fromHub);
    expect(res.setCookies).toHaveLength(1);
    expect(parseCookieValue(browser.jar(SHOP_HOST).get('tessera_session'))!.sid).toBe(second.record.sid);
    expect(events.map((e) => [e.sid, e.wasEmpty])).toEqual([
      [first.record.sid, true],
      [second.record.sid, false],
    ]);
  });
});
