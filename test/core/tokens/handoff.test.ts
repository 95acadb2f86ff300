import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { FrozenClock } from '../../../src/core/clock';
import type { TesseraErrorCode } from '../../../src/core/errors';
import {
  mintHandoff,
  mintHandoffAsync,
  verifyHandoff,
  verifyHandoffClaims,
  type HandoffInput,
  type HandoffVerifyOptions,
} from '../../../src/core/tokens/handoff';
import { mintLogout } from '../../../src/core/tokens/logout';
import {
  AUDIENCE, EC_KID, ISSUER, JTI, KID, NOW, SID, decodeSegment, ec, ecSigner, expectRejection, forgeRaw, keyLookup, published, replayRecorder, rsa, sharedRejections, signer,
} from './support';

const DST = 'www.example.org';

const input: HandoffInput = { audience: AUDIENCE, sid: SID, sub: 'user-42', src: 'login.example.com', identity: { email: 'ada@example.org' } };

let clock: FrozenClock;
let replay: ReturnType<typeof replayRecorder>;
let keys: ReturnType<typeof keyLookup>;

beforeEach(() => {
  clock = new FrozenClock(NOW * 1000);
  replay = replayRecorder();
  keys = keyLookup();
});

function options(extra: Partial<HandoffVerifyOptions> = {}): HandoffVerifyOptions {
  return {
    keys,
    algorithms: ['RS256', 'ES256'],
    issuer: ISSUER,
    audience: AUDIENCE,
    destinationHost: DST,
    isKnownSource: (host) => host === 'login.example.com' || host === 'shop.example.net',
    clock,
    clockToleranceSeconds: 5,
    rememberJti: replay.rememberJti,
    ...extra,
  };
}

/** Handoff claims; an `undefined` in `extra` leaves that claim out (JSON.stringify drops it). */
function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, aud: AUDIENCE, sub: 'user-42', sid: SID, src: 'login.example.com', dst: DST, iat: NOW, exp: NOW + 30, jti: JTI, ...extra };
}

function forge(header: Record<string, unknown>, payload: Record<string, unknown> = claims(), key?: KeyObject): string {
  return forgeRaw(JSON.stringify(header), JSON.stringify(payload), key);
}

const goodHeader = (extra: Record<string, unknown> = {}) => ({ alg: 'RS256', typ: 'handoff+jwt', kid: KID, ...extra });

function expectRejected(token: unknown, code: TesseraErrorCode, extra: Partial<HandoffVerifyOptions> = {}): Promise<unknown> {
  return expectRejection(verifyHandoff(token, options(extra)), code, replay);
}

describe('mintHandoff', () => {
  it('signs the header and claims of DESIGN.md with the current key', async () => {
    const token = mintHandoff(signer, input, { clock, issuer: ISSUER });
    expect(decodeSegment(token, 0)).toEqual({ alg: 'RS256', typ: 'handoff+jwt', kid: KID });
    expect(decodeSegment(token, 1)).toEqual({
      iss: ISSUER, aud: AUDIENCE, sub: 'user-42', sid: SID, src: 'login.example.com', dst: DST,
      iat: NOW, exp: NOW + 30, jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), email: 'ada@example.org',
    });
  });

  it('omits sub for an anonymous session and draws a fresh jti each time', () => {
    const a = decodeSegment(mintHandoff(signer, { ...input, sub: null }, { clock, issuer: ISSUER }), 1);
    const b = decodeSegment(mintHandoff(signer, input, { clock, issuer: ISSUER }), 1);
    expect(a).not.toHaveProperty('sub');
    expect(a.jti).not.toBe(b.jti);
  });

  it('refuses a lifetime above 120 s', () => {
    expect(() => mintHandoff(signer, input, { clock, issuer: ISSUER, ttlSeconds: 121 })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
  });

  it('refuses identity claims that would replace registered ones', () => {
    expect(() => mintHandoff(signer, { ...input, identity: { aud: 'https://evil.example' } }, { clock, issuer: ISSUER })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
    );
  });

  it('refuses an audience that is not a bare origin', () => {
    expect(() => mintHandoff(signer, { ...input, audience: 'https://www.example.org/path' }, { clock, issuer: ISSUER })).toThrow(
      expect.objectContaining({ code: 'ERR_INTERNAL' }),
    );
  });
});

describe('mintHandoffAsync (signed on the thread pool)', () => {
  it('mints what mintHandoff mints, and it verifies, for RS256 and ES256', async () => {
    for (const [keys, alg, kid] of [[signer, 'RS256', KID], [ecSigner, 'ES256', EC_KID]] as const) {
      const token = await mintHandoffAsync(keys, input, { clock, issuer: ISSUER });
      const inline = mintHandoff(keys, input, { clock, issuer: ISSUER });
      expect(decodeSegment(token, 0)).toEqual({ alg, typ: 'handoff+jwt', kid });
      expect(decodeSegment(token, 1)).toEqual({ ...decodeSegment(inline, 1), jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) });
      expect(decodeSegment(token, 1).jti).not.toBe(decodeSegment(inline, 1).jti);
      expect((await verifyHandoff(token, options())).kid).toBe(kid);
    }
  });

  it('signs many at once, each token its own', async () => {
    const tokens = await Promise.all(Array.from({ length: 8 }, () => mintHandoffAsync(signer, input, { clock, issuer: ISSUER })));
    const verified = await Promise.all(tokens.map((token) => verifyHandoff(token, options())));
    expect(new Set(verified.map((v) => v.claims.jti)).size).toBe(8);
  });

  it('refuses what mintHandoff refuses, as a rejection', async () => {
    await expect(mintHandoffAsync(signer, input, { clock, issuer: ISSUER, ttlSeconds: 121 })).rejects.toMatchObject({ code: 'ERR_CONFIG_INVALID' });
  });
});

describe('verifyHandoff accepts', () => {
  it('a freshly minted token, recording its jti until exp plus tolerance', async () => {
    const token = mintHandoff(signer, input, { clock, issuer: ISSUER, ttlSeconds: 30 });
    clock.advance(34_000);
    const result = await verifyHandoff(token, options());
    expect(result.claims).toEqual({ iss: ISSUER, aud: AUDIENCE, sub: 'user-42', sid: SID, src: 'login.example.com', dst: DST, iat: NOW, exp: NOW + 30, jti: result.claims.jti });
    expect(result.identity).toEqual({ email: 'ada@example.org' });
    expect(result).toMatchObject({ kid: KID, jtiRecorded: true, jtiExpiresAt: NOW + 35 });
    expect([...replay.recorded]).toEqual([[result.claims.jti, NOW + 35]]);
  });

  it('an ES256 token through an asynchronous key lookup (as a JWKS client does)', async () => {
    const token = mintHandoff(ecSigner, input, { clock, issuer: ISSUER });
    const result = await verifyHandoff(token, options({ keys: async (kid) => published.get(kid) ?? null }));
    expect(result.kid).toBe(EC_KID);
  });

  it('identity claims as plain members, a "__proto__" member never becoming a prototype', async () => {
    const payload = JSON.stringify(claims({ roles: ['editor'] })).replace('{', '{"__proto__":{"admin":true},');
    const result = await verifyHandoff(forgeRaw(JSON.stringify(goodHeader()), payload), options());
    expect(result.identity).toEqual({ roles: ['editor'] });
    expect(Object.getPrototypeOf(result.identity)).toBe(Object.prototype);
  });

  it('hands the jti, its expiry and the sid to rememberJti', async () => {
    const token = mintHandoff(signer, input, { clock, issuer: ISSUER });
    const result = await verifyHandoff(token, options());
    expect(replay.rememberJti).toHaveBeenCalledWith(result.claims.jti, NOW + 35, input.sid);
  });

  it('without rememberJti, leaving the jti to the caller (two-phase hot path)', async () => {
    const token = mintHandoff(signer, input, { clock, issuer: ISSUER });
    const result = await verifyHandoff(token, options({ rememberJti: undefined }));
    expect(result.jtiRecorded).toBe(false);
    expect(result.jtiExpiresAt).toBe(NOW + 35);
  });
});

describe('interoperability with jsonwebtoken (what destinations verify with)', () => {
  it.each([
    ['RS256', signer, rsa.publicKey],
    ['ES256', ecSigner, ec.publicKey],
  ] as const)('jsonwebtoken verifies a %s token we mint', (alg, tokenSigner, publicKey) => {
    clock.set(Date.now());
    const token = mintHandoff(tokenSigner, input, { clock, issuer: ISSUER });
    const verified = jwt.verify(token, publicKey, { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE, complete: true });
    expect(verified.header).toEqual({ alg, typ: 'handoff+jwt', kid: tokenSigner.signingKey().kid });
    expect(verified.payload).toMatchObject({ sid: SID, dst: DST });
  });

  it.each([
    ['RS256', rsa.privateKey, KID],
    ['ES256', ec.privateKey, EC_KID],
  ] as const)('we verify a %s token jsonwebtoken signs', async (alg, privateKey, kid) => {
    const token = jwt.sign(claims(), privateKey, { algorithm: alg, keyid: kid, header: { alg, typ: 'handoff+jwt' } });
    expect((await verifyHandoff(token, options())).claims.jti).toBe(JTI);
  });
});

describe('verifyHandoff rejects, as every token type does', () => {
  it.each(sharedRejections({ typ: 'handoff+jwt', claims }))('%s', async (_name, token, suffix, { claim, beforeLookup }) => {
    const error = await expectRejected(token, `ERR_HANDOFF_${suffix}` as TesseraErrorCode);
    expect(error).toMatchObject({ claim });
    expect(keys).toHaveBeenCalledTimes(beforeLookup ? 0 : 1);
  });
});

describe('verifyHandoff rejects', () => {
  it('a logout token presented as a handoff token (typ confusion)', async () => {
    const logout = mintLogout(signer, { audience: AUDIENCE, sid: SID, sub: 'user-42' }, { clock, issuer: ISSUER });
    await expectRejected(logout, 'ERR_HANDOFF_TYP');
  });

  it('handoff claims signed under typ logout+jwt', async () => {
    await expectRejected(forge(goodHeader({ typ: 'logout+jwt' })), 'ERR_HANDOFF_TYP');
  });

  it('a key from the lookup that is too weak for its alg', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const token = forge(goodHeader(), claims(), weak.privateKey);
    await expectRejected(token, 'ERR_HANDOFF_SIGNATURE', { keys: () => ({ alg: 'RS256', publicKey: weak.publicKey }) });
  });

  it('a dst that is not this site', async () => {
    await expectRejected(forge(goodHeader(), claims({ dst: 'shop.example.net' })), 'ERR_HANDOFF_DESTINATION');
  });

  it('an unknown src', async () => {
    await expectRejected(forge(goodHeader(), claims({ src: 'evil.example' })), 'ERR_HANDOFF_SOURCE');
  });

  it('an expired token (past exp plus tolerance)', async () => {
    const token = forge(goodHeader());
    clock.set((NOW + 35) * 1000);
    await expectRejected(token, 'ERR_HANDOFF_EXPIRED');
  });

  it('a replayed token, recording its jti once', async () => {
    const token = mintHandoff(signer, input, { clock, issuer: ISSUER });
    await verifyHandoff(token, options());
    const error = await verifyHandoff(token, options()).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'ERR_HANDOFF_REPLAYED' });
    expect(replay.rememberJti).toHaveBeenCalledTimes(2);
    expect(replay.recorded.size).toBe(1);
  });

  it('a header that passed before, once its alg is no longer configured', async () => {
    const token = mintHandoff(signer, input, { clock, issuer: ISSUER });
    await verifyHandoff(token, options({ rememberJti: undefined }));
    await expectRejected(token, 'ERR_HANDOFF_ALG', { algorithms: ['ES256'] });
  });

  it('an algorithm list that admits HMAC or none, as configuration', async () => {
    const token = mintHandoff(signer, input, { clock, issuer: ISSUER });
    await expectRejected(token, 'ERR_CONFIG_INVALID', { algorithms: ['RS256', 'HS256' as 'RS256'] });
  });
});

describe('verifyHandoffClaims', () => {
  it('checks the claims of an already verified payload without recording anything', () => {
    const rules = { issuer: ISSUER, audience: AUDIENCE, destinationHost: DST, isKnownSource: () => true, clock };
    expect(verifyHandoffClaims(claims({ roles: ['admin'] }), rules)).toEqual({
      claims: { iss: ISSUER, aud: AUDIENCE, sub: 'user-42', sid: SID, src: 'login.example.com', dst: DST, iat: NOW, exp: NOW + 30, jti: JTI },
      identity: { roles: ['admin'] },
      jtiExpiresAt: NOW + 35,
    });
    expect(() => verifyHandoffClaims(claims({ dst: 'evil.example' }), rules)).toThrow(expect.objectContaining({ code: 'ERR_HANDOFF_DESTINATION' }));
    expect(() => verifyHandoffClaims(claims(), { ...rules, maxLifetimeSeconds: 121 })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
  });
});
