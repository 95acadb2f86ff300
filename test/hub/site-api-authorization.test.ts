/**
 * Issue 4 follow-up: a site credential acts only on sessions that site really holds.
 *
 * Every site learns the sids of its own visitors from their handoff tokens; a compromised site
 * (its credential, or its code) must not be able to use a sid it learned any other way. So:
 * - `links` needs proof: the handoff token the site just accepted for that sid, addressed to
 *   that site, signed by the hub, at most LINK_PROOF_GRACE seconds past its expiry (also with
 *   no clock tolerance, and after the key that signed it retired); a report may be repeated
 *   with the same proof (recording the same link twice is harmless), so a failed one is retried;
 * - `beacons`, `status` and `logout` for a session the calling site holds no link to answer
 *   exactly as for an unknown sid: no fresh tokens for other sites, no liveness oracle, nothing
 *   ended.
 */
import { generateKeyPairSync } from 'node:crypto';
import { nowSeconds } from '../../src/core/clock';
import { TesseraError } from '../../src/core/errors';
import { mintHandoff } from '../../src/core/tokens/handoff';
import { mintLogout } from '../../src/core/tokens/logout';
import {
  BLOG,
  Browser,
  HUB,
  HUB_HOST,
  SHOP,
  SHOP_HOST,
  WWW,
  claimsFor,
  credentials,
  forge,
  goodHeader,
  signedInSession,
  startHandoffHub,
  type HandoffHub,
  type Reply,
  type SignedIn,
} from './handoff-support';

/** How long past its `exp` a handoff token still proves a link (docs/site-api.md). */
const LINK_PROOF_GRACE = 300;
const UNKNOWN_SID = 'A'.repeat(22);

describe('site API: a credential acts only on sessions its site holds', () => {
  let hub: HandoffHub;
  beforeAll(async () => {
    hub = await startHandoffHub();
  });
  afterAll(() => hub.close());
  beforeEach(() => hub.logs.clear());

  const call = (path: string, body: unknown, credential: string = credentials.www): Promise<Reply> =>
    new Browser(hub.url).request(hub.ownHost, 'POST', path, { json: body, headers: { authorization: `Bearer ${credential}` } });

  /** A handoff token the hub would send `origin` for `signed`'s session (a beacon or a bounce). */
  const proofFor = (signed: SignedIn, origin: string = WWW, ttlSeconds = 30): string =>
    mintHandoff(hub.deps.keyring, { audience: origin, sid: signed.record.sid, sub: signed.user.id, src: HUB_HOST }, { clock: hub.clock, issuer: HUB, ttlSeconds });

  /** A session that SHOP holds (the hub set its cookie) and WWW never received. */
  async function heldByShopOnly(): Promise<SignedIn> {
    const signed = await signedInSession(hub);
    await hub.deps.sessions.linkSite(signed.record.sid, { site: SHOP, linkedAt: nowSeconds(hub.clock), src: HUB_HOST, secretHash: null, projectionKey: null });
    return signed;
  }

  const linksOf = async (signed: SignedIn) => (await hub.deps.sessions.get(signed.record.sid))!.sites.map((l) => l.site);

  /** Status, the headers a client could tell apart, and the body. */
  const observable = (reply: Reply) => ({ status: reply.status, body: reply.body, type: reply.headers['content-type'], cache: reply.headers['cache-control'] });

  describe('beacons: no fresh tokens for a session the caller does not hold', () => {
    it('answers a foreign live session exactly like an unknown sid', async () => {
      const victim = await heldByShopOnly();
      const unknown = await call('/api/v1/sites/beacons', { sid: UNKNOWN_SID });
      const foreign = await call('/api/v1/sites/beacons', { sid: victim.record.sid });
      expect(observable(foreign)).toEqual(observable(unknown));
      expect(JSON.parse(foreign.body)).toEqual({ beacons: [] });
      // Nobody else holds it either: still nothing for the asker.
      const fresh = await signedInSession(hub);
      expect(observable(await call('/api/v1/sites/beacons', { sid: fresh.record.sid }))).toEqual(observable(unknown));
    });

    it('still mints for the session once the caller holds it', async () => {
      const signed = await heldByShopOnly();
      expect((await call('/api/v1/sites/links', { sid: signed.record.sid, token: proofFor(signed) })).status).toBe(204);
      const { beacons } = JSON.parse((await call('/api/v1/sites/beacons', { sid: signed.record.sid })).body) as { beacons: { url: string }[] };
      expect(beacons.map((b) => new URL(b.url).origin)).toEqual([BLOG]);
    });
  });

  describe('status: no liveness oracle', () => {
    it('answers a foreign live session exactly like an unknown sid, and the held one as active', async () => {
      const victim = await heldByShopOnly();
      const unknown = await call('/api/v1/sites/status', { sid: UNKNOWN_SID });
      expect(JSON.parse(unknown.body)).toEqual({ active: false });
      expect(observable(await call('/api/v1/sites/status', { sid: victim.record.sid }))).toEqual(observable(unknown));
      expect(JSON.parse((await call('/api/v1/sites/status', { sid: victim.record.sid }, credentials.shop)).body)).toEqual({ active: true });
    });
  });

  describe('logout: nothing ended for a session the caller does not hold', () => {
    it('answers like an unknown sid and leaves the session and the audit log alone', async () => {
      const victim = await heldByShopOnly();
      const unknown = await call('/api/v1/sites/logout', { sid: UNKNOWN_SID });
      const foreign = await call('/api/v1/sites/logout', { sid: victim.record.sid });
      expect(observable(foreign)).toEqual(observable(unknown));
      expect(foreign.status).toBe(204);
      expect(await hub.deps.sessions.get(victim.record.sid)).not.toBeNull();
      expect((await hub.deps.audit.query({ type: 'session.revoked', sid: victim.record.sid }, { limit: 5 })).items).toEqual([]);
    });
  });

  describe('links: the report must carry a handoff token for that sid to the caller', () => {
    /** The report is refused: 400 with `code`, no link, one log line naming the code and never the token. */
    async function expectRefused(signed: SignedIn, body: Record<string, unknown>, code = 'ERR_LINK_PROOF'): Promise<void> {
      hub.logs.clear();
      const res = await call('/api/v1/sites/links', body);
      expect([res.status, (JSON.parse(res.body) as { error: { code: string } }).error.code]).toEqual([400, code]);
      expect(await linksOf(signed)).not.toContain(WWW);
      expect(hub.logs.lines.filter((l) => l.code === code)).toHaveLength(1);
      if (typeof body.token === 'string' && body.token !== '') {
        const text = JSON.stringify(hub.logs.lines);
        expect(text).not.toContain(body.token);
        const signature = body.token.split('.')[2] ?? '';
        if (signature.length > 16) expect(text).not.toContain(signature);
      }
    }

    it('refuses a bare sid (the old report), whatever session it names', async () => {
      const victim = await heldByShopOnly();
      await expectRefused(victim, { sid: victim.record.sid });
      await expectRefused(victim, { sid: victim.record.sid, token: '' });
      await expectRefused(victim, { sid: victim.record.sid, token: 42 });
    });

    it('refuses a token addressed to another site, e.g. one the caller got from the beacons API', async () => {
      const victim = await heldByShopOnly();
      await expectRefused(victim, { sid: victim.record.sid, token: proofFor(victim, BLOG) });
      await expectRefused(victim, { sid: victim.record.sid, token: proofFor(victim, SHOP) });
    });

    it('refuses a token for another sid than the one reported', async () => {
      const own = await signedInSession(hub);
      const victim = await heldByShopOnly();
      await expectRefused(victim, { sid: victim.record.sid, token: proofFor(own) });
      expect(await linksOf(own)).toEqual([]);
    });

    it('refuses forged, foreign-issuer, wrong-type and oversized tokens', async () => {
      const victim = await heldByShopOnly();
      const sid = victim.record.sid;
      const { privateKey: strangerKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const claims = claimsFor(hub, WWW, sid);
      const tokens = [
        forge(hub, goodHeader(hub), claims, strangerKey),
        forge(hub, goodHeader(hub), { ...claims, iss: 'https://evil.example' }),
        forge(hub, goodHeader(hub), { ...claims, dst: SHOP_HOST }),
        forge(hub, goodHeader(hub, { alg: 'none' }), claims),
        forge(hub, goodHeader(hub, { typ: 'JWT' }), claims),
        mintLogout(hub.deps.keyring, { audience: WWW, sid, sub: victim.user.id }, { clock: hub.clock, issuer: HUB }),
        `${'a'.repeat(5000)}.b.c`,
        'not a token',
      ];
      for (const token of tokens) await expectRefused(victim, { sid, token });
    });

    it('takes a token up to the grace past its expiry, not later', async () => {
      const late = await signedInSession(hub);
      const lateProof = proofFor(late);
      const tooLate = await signedInSession(hub);
      const tooLateProof = proofFor(tooLate);
      const tolerance = hub.deps.config.tokens.clockToleranceSeconds;
      hub.clock.advance((30 + tolerance + LINK_PROOF_GRACE - 1) * 1000);
      expect((await call('/api/v1/sites/links', { sid: late.record.sid, token: lateProof })).status).toBe(204);
      hub.clock.advance(1000);
      await expectRefused(tooLate, { sid: tooLate.record.sid, token: tooLateProof });
    });

    it('takes a token whose jti was already spent as a handoff, and takes it again: recording the same link twice is harmless', async () => {
      const signed = await signedInSession(hub);
      const token = proofFor(signed);
      const { jti, exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string; exp: number };
      // The SDK spent the jti when it accepted the token; a replay store shared with the hub sees it.
      await hub.deps.replay.rememberOnce(jti, exp + 5, signed.record.sid);
      const replies = await Promise.all([1, 2, 3].map(() => call('/api/v1/sites/links', { sid: signed.record.sid, token })));
      expect(replies.map((r) => r.status)).toEqual([204, 204, 204]);
      // One link, whose src is the proof's: the host that embedded the beacon or started the bounce.
      expect((await hub.deps.sessions.get(signed.record.sid))!.sites).toEqual([{ site: WWW, linkedAt: nowSeconds(hub.clock), src: HUB_HOST, secretHash: null, projectionKey: null }]);
      // A retry later (the SDK's, after an answer it never saw) records the same link again.
      hub.clock.advance(10_000);
      expect((await call('/api/v1/sites/links', { sid: signed.record.sid, token })).status).toBe(204);
      expect(await linksOf(signed)).toEqual([WWW]);
      // Nothing is remembered per proof: the report writes the link and nothing else.
      expect(await hub.deps.replay.rememberOnce(`link:${jti}`, exp + 400, signed.record.sid)).toBe(true);
    });

    it('takes the same token again after a store failure: a failed report spends nothing', async () => {
      const signed = await signedInSession(hub);
      const token = proofFor(signed);
      const linkSite = jest.spyOn(hub.deps.sessions, 'linkSite').mockRejectedValueOnce(new TesseraError('ERR_STORE_UNAVAILABLE', 'the store did not answer'));
      try {
        const failed = await call('/api/v1/sites/links', { sid: signed.record.sid, token });
        expect([failed.status, (JSON.parse(failed.body) as { error: { code: string } }).error.code]).toEqual([503, 'ERR_STORE_UNAVAILABLE']);
        expect(await linksOf(signed)).toEqual([]);
        // The SDK's retry, with the same proof.
        expect((await call('/api/v1/sites/links', { sid: signed.record.sid, token })).status).toBe(204);
        expect(await linksOf(signed)).toEqual([WWW]);
      } finally {
        linkSite.mockRestore();
      }
    });

    it('keeps the answers for a good proof: 204, and 404 ERR_SESSION_ENDED once the session ended', async () => {
      const signed = await signedInSession(hub);
      const token = proofFor(signed);
      await hub.deps.sessions.revoke(signed.record.sid);
      const res = await call('/api/v1/sites/links', { sid: signed.record.sid, token });
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'ERR_SESSION_ENDED' } });
    });
  });
});

describe('site API: the grace of a link proof holds whatever the clock tolerance and the JWKS cache time', () => {
  const call = (hub: HandoffHub, body: unknown): Promise<Reply> =>
    new Browser(hub.url).request(hub.ownHost, 'POST', '/api/v1/sites/links', { json: body, headers: { authorization: `Bearer ${credentials.www}` } });
  const proofFor = (hub: HandoffHub, signed: SignedIn): string =>
    mintHandoff(hub.deps.keyring, { audience: WWW, sid: signed.record.sid, sub: signed.user.id, src: HUB_HOST }, { clock: hub.clock, issuer: HUB, ttlSeconds: 30 });
  const expOf = (token: string): number => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp;
  /** Moves `hub`'s clock to `at` (Unix seconds). */
  const setClock = (hub: HandoffHub, at: number): void => hub.clock.advance(at * 1000 - hub.clock.now());

  it('with TESSERA_CLOCK_TOLERANCE=0: takes a proof 1 s and grace - 1 s past its exp, refuses it grace + 1 s past', async () => {
    const hub = await startHandoffHub({ TESSERA_CLOCK_TOLERANCE: '0' });
    try {
      expect(hub.deps.config.tokens.clockToleranceSeconds).toBe(0);
      const [early, late, tooLate] = [await signedInSession(hub), await signedInSession(hub), await signedInSession(hub)];
      const proofs = [proofFor(hub, early), proofFor(hub, late), proofFor(hub, tooLate)];
      const exp = expOf(proofs[0]!);
      setClock(hub, exp + 1);
      expect((await call(hub, { sid: early.record.sid, token: proofs[0] })).status).toBe(204);
      setClock(hub, exp + LINK_PROOF_GRACE - 1);
      expect((await call(hub, { sid: late.record.sid, token: proofs[1] })).status).toBe(204);
      setClock(hub, exp + LINK_PROOF_GRACE + 1);
      const refused = await call(hub, { sid: tooLate.record.sid, token: proofs[2] });
      expect([refused.status, (JSON.parse(refused.body) as { error: { code: string } }).error.code]).toEqual([400, 'ERR_LINK_PROOF']);
      expect((await hub.deps.sessions.get(tooLate.record.sid))!.sites).toEqual([]);
    } finally {
      await hub.close();
    }
  });

  it('with TESSERA_JWKS_MAX_AGE=0: a proof signed by a key retired right after still proves a link until the grace ends', async () => {
    const hub = await startHandoffHub({ TESSERA_JWKS_MAX_AGE: '0' });
    try {
      const signed = await signedInSession(hub);
      const proof = proofFor(hub, signed);
      const oldKid = hub.deps.keyring.signingKey().kid;
      // No JWKS cache to outwait: the new key signs at once and the old one is retired now.
      await hub.deps.keyring.rotate();
      expect(hub.deps.keyring.list().find((key) => key.kid === oldKid)).toMatchObject({ state: 'retired' });
      setClock(hub, expOf(proof) + hub.deps.config.tokens.clockToleranceSeconds + LINK_PROOF_GRACE - 1);
      expect((await call(hub, { sid: signed.record.sid, token: proof })).status).toBe(204);
    } finally {
      await hub.close();
    }
  });
});
