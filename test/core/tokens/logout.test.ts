import type { KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { FrozenClock } from '../../../src/core/clock';
import type { TesseraErrorCode } from '../../../src/core/errors';
import { mintHandoff } from '../../../src/core/tokens/handoff';
import { mintLogout, verifyLogout, type LogoutInput, type LogoutVerifyOptions } from '../../../src/core/tokens/logout';
import {
  AUDIENCE, EC_KID, ISSUER, JTI, KID, NOW, SID, decodeSegment, ec, ecSigner, expectRejection, forgeRaw, keyLookup, published, replayRecorder, rsa, sharedRejections, signer,
} from './support';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

const input: LogoutInput = { audience: AUDIENCE, sid: SID, sub: 'user-42' };

let clock: FrozenClock;
let replay: ReturnType<typeof replayRecorder>;
let keys: ReturnType<typeof keyLookup>;

beforeEach(() => {
  clock = new FrozenClock(NOW * 1000);
  replay = replayRecorder();
  keys = keyLookup();
});

function options(extra: Partial<LogoutVerifyOptions> = {}): LogoutVerifyOptions {
  return { keys, algorithms: ['RS256', 'ES256'], issuer: ISSUER, audience: AUDIENCE, clock, clockToleranceSeconds: 5, rememberJti: replay.rememberJti, ...extra };
}

/** Logout claims; an `undefined` in `extra` leaves that claim out (JSON.stringify drops it). */
function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, aud: AUDIENCE, iat: NOW, exp: NOW + 120, jti: JTI, sid: SID, sub: 'user-42', events: { [EVENT]: {} }, ...extra };
}

function forge(header: Record<string, unknown>, payload: Record<string, unknown> = claims(), key?: KeyObject): string {
  return forgeRaw(JSON.stringify(header), JSON.stringify(payload), key);
}

const goodHeader = (extra: Record<string, unknown> = {}) => ({ alg: 'RS256', typ: 'logout+jwt', kid: KID, ...extra });

function expectRejected(token: unknown, code: TesseraErrorCode, extra: Partial<LogoutVerifyOptions> = {}): Promise<unknown> {
  return expectRejection(verifyLogout(token, options(extra)), code, replay);
}

describe('mintLogout', () => {
  it('signs the header and the Back-Channel Logout claims with the current key, 120 s by default', () => {
    const token = mintLogout(signer, input, { clock, issuer: ISSUER });
    expect(decodeSegment(token, 0)).toEqual({ alg: 'RS256', typ: 'logout+jwt', kid: KID });
    expect(decodeSegment(token, 1)).toEqual({
      iss: ISSUER, aud: AUDIENCE, iat: NOW, exp: NOW + 120, jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      sid: SID, sub: 'user-42', events: { [EVENT]: {} },
    });
  });

  it('omits sub for an anonymous session, never writes a nonce, and draws a fresh jti each time', () => {
    const a = decodeSegment(mintLogout(signer, { ...input, sub: null }, { clock, issuer: ISSUER, ttlSeconds: 30 }), 1);
    const b = decodeSegment(mintLogout(signer, input, { clock, issuer: ISSUER }), 1);
    expect(a).not.toHaveProperty('sub');
    expect(a).not.toHaveProperty('nonce');
    expect(a.exp).toBe(NOW + 30);
    expect(a.jti).not.toBe(b.jti);
  });

  it('refuses a lifetime above 120 s', () => {
    expect(() => mintLogout(signer, input, { clock, issuer: ISSUER, ttlSeconds: 121 })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
  });

  it('refuses an audience that is not a bare origin, and a malformed sid', () => {
    expect(() => mintLogout(signer, { ...input, audience: 'https://www.example.org/logout' }, { clock, issuer: ISSUER })).toThrow(
      expect.objectContaining({ code: 'ERR_INTERNAL' }),
    );
    expect(() => mintLogout(signer, { ...input, sid: 'short' }, { clock, issuer: ISSUER })).toThrow(expect.objectContaining({ code: 'ERR_INTERNAL' }));
  });
});

describe('verifyLogout accepts', () => {
  it('a freshly minted token, recording its jti and sid until exp plus tolerance', async () => {
    const token = mintLogout(signer, input, { clock, issuer: ISSUER });
    clock.advance(124_000);
    const result = await verifyLogout(token, options());
    expect(result.claims).toEqual({ iss: ISSUER, aud: AUDIENCE, sub: 'user-42', sid: SID, iat: NOW, exp: NOW + 120, jti: result.claims.jti });
    expect(result).toMatchObject({ kid: KID, jtiExpiresAt: NOW + 125 });
    expect(replay.rememberJti).toHaveBeenCalledWith(result.claims.jti, NOW + 125, SID);
    expect([...replay.recorded]).toEqual([[result.claims.jti, NOW + 125]]);
  });

  it('an anonymous session token, without sub', async () => {
    const result = await verifyLogout(mintLogout(signer, { ...input, sub: null }, { clock, issuer: ISSUER }), options());
    expect(result.claims).not.toHaveProperty('sub');
    expect(result.claims.sid).toBe(SID);
  });

  it('an ES256 token through an asynchronous key lookup (as a JWKS client does)', async () => {
    const token = mintLogout(ecSigner, input, { clock, issuer: ISSUER });
    const result = await verifyLogout(token, options({ keys: async (kid) => published.get(kid) ?? null }));
    expect(result.kid).toBe(EC_KID);
  });
});

describe('interoperability with jsonwebtoken (what destinations verify with)', () => {
  it.each([
    ['RS256', signer, rsa.publicKey],
    ['ES256', ecSigner, ec.publicKey],
  ] as const)('jsonwebtoken verifies a %s token we mint with the public key', (alg, tokenSigner, publicKey) => {
    clock.set(Date.now());
    const token = mintLogout(tokenSigner, input, { clock, issuer: ISSUER });
    const verified = jwt.verify(token, publicKey, { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE, complete: true });
    expect(verified.header).toEqual({ alg, typ: 'logout+jwt', kid: tokenSigner.signingKey().kid });
    expect(verified.payload).toMatchObject({ sid: SID, sub: 'user-42', events: { [EVENT]: {} } });
  });

  it('we verify a token jsonwebtoken signs', async () => {
    const token = jwt.sign(claims(), rsa.privateKey, { algorithm: 'RS256', keyid: KID, header: { alg: 'RS256', typ: 'logout+jwt' } });
    expect((await verifyLogout(token, options())).claims.jti).toBe(JTI);
  });
});

describe('verifyLogout rejects, as every token type does', () => {
  it.each(sharedRejections({ typ: 'logout+jwt', claims }))('%s', async (_name, token, suffix, { claim, beforeLookup }) => {
    const error = await expectRejected(token, `ERR_LOGOUT_${suffix}` as TesseraErrorCode);
    expect(error).toMatchObject({ claim });
    expect(keys).toHaveBeenCalledTimes(beforeLookup ? 0 : 1);
  });
});

describe('verifyLogout rejects', () => {
  it('a handoff token presented as a logout token (typ confusion)', async () => {
    const handoff = mintHandoff(signer, { audience: AUDIENCE, sid: SID, sub: 'user-42', src: 'login.example.com' }, { clock, issuer: ISSUER });
    await expectRejected(handoff, 'ERR_LOGOUT_TYP');
  });

  it('logout claims signed under typ handoff+jwt', async () => {
    await expectRejected(forge(goodHeader({ typ: 'handoff+jwt' })), 'ERR_LOGOUT_TYP');
  });

  it('an expired token (past exp plus tolerance)', async () => {
    const token = forge(goodHeader());
    clock.set((NOW + 125) * 1000);
    await expectRejected(token, 'ERR_LOGOUT_EXPIRED');
  });

  it('missing events (an ID token shape)', async () => {
    await expectRejected(forge(goodHeader(), claims({ events: undefined })), 'ERR_LOGOUT_EVENTS');
  });

  it.each([
    ['not an object', 'logout'],
    ['an array', [EVENT]],
    ['empty', {}],
    ['another event', { 'http://schemas.openid.net/event/frontchannel-logout': {} }],
    ['a second member', { [EVENT]: {}, 'https://example.com/other': {} }],
    ['the event with a non-object value', { [EVENT]: true }],
    ['the event with a null value', { [EVENT]: null }],
  ])('events %s', async (_name, events) => {
    await expectRejected(forge(goodHeader(), claims({ events })), 'ERR_LOGOUT_EVENTS');
  });

  it('a nonce', async () => {
    await expectRejected(forge(goodHeader(), claims({ nonce: 'n-0S6_WzA2Mj' })), 'ERR_LOGOUT_NONCE');
  });

  it('a replayed token, recording its jti once', async () => {
    const token = mintLogout(signer, input, { clock, issuer: ISSUER });
    await verifyLogout(token, options());
    const error = await verifyLogout(token, options()).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'ERR_LOGOUT_REPLAYED' });
    expect(replay.rememberJti).toHaveBeenCalledTimes(2);
    expect(replay.recorded.size).toBe(1);
  });

  it('a verifier configured with HMAC, as configuration', async () => {
    await expectRejected(mintLogout(signer, input, { clock, issuer: ISSUER }), 'ERR_CONFIG_INVALID', { algorithms: ['RS256', 'HS256' as 'RS256'] });
  });

  it('a clock tolerance above 60 s, as configuration', async () => {
    await expectRejected(mintLogout(signer, input, { clock, issuer: ISSUER }), 'ERR_CONFIG_INVALID', { clockToleranceSeconds: 61 });
  });
});
