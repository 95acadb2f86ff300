import { createHmac, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { FrozenClock } from '../../../src/core/clock';
import type { TesseraErrorCode } from '../../../src/core/errors';
import { keyThumbprint } from '../../../src/core/keys/jwk';
import type { VerificationKey } from '../../../src/core/keys/keyring';
import {
  mintHandoff,
  verifyHandoff,
  verifyHandoffClaims,
  type HandoffInput,
  type HandoffVerifyOptions,
} from '../../../src/core/tokens/handoff';

const NOW = 1_700_000_000;
const ISSUER = 'https://login.example.com';
const AUDIENCE = 'https://www.example.org';
const DST = 'www.example.org';
const SID = 'AAAAAAAAAAAAAAAAAAAAAA';
const JTI = 'BBBBBBBBBBBBBBBBBBBBBB';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const KID = keyThumbprint(rsa.publicKey);
const EC_KID = keyThumbprint(ec.publicKey);
const published = new Map<string, VerificationKey>([
  [KID, { alg: 'RS256', publicKey: rsa.publicKey }],
  [EC_KID, { alg: 'ES256', publicKey: ec.publicKey }],
]);
const signer = { signingKey: () => ({ kid: KID, alg: 'RS256' as const, privateKey: rsa.privateKey }) };

const input: HandoffInput = { audience: AUDIENCE, sid: SID, sub: 'user-42', src: 'login.example.com', identity: { email: 'ada@example.org' } };

let clock: FrozenClock;
let recorded: Map<string, number>;
let rememberJti: jest.Mock<Promise<boolean>, [string, number, string]>;
let keys: jest.Mock<VerificationKey | null, [string]>;

beforeEach(() => {
  clock = new FrozenClock(NOW * 1000);
  recorded = new Map();
  rememberJti = jest.fn(async (jti: string, expiresAt: number, _sid: string) => {
    if (recorded.has(jti)) return false;
    recorded.set(jti, expiresAt);
    return true;
  });
  keys = jest.fn((kid: string) => published.get(kid) ?? null);
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
    rememberJti,
    ...extra,
  };
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

/** Handoff claims; an `undefined` in `extra` leaves that claim out (JSON.stringify drops it). */
function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, aud: AUDIENCE, sub: 'user-42', sid: SID, src: 'login.example.com', dst: DST, iat: NOW, exp: NOW + 30, jti: JTI, ...extra };
}

/** A compact JWS built by hand, RS256-signed with `key`, from raw header and payload JSON text. */
function forgeRaw(headerJson: string, payloadJson: string, key: KeyObject = rsa.privateKey): string {
  const input = `${b64(headerJson)}.${b64(payloadJson)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function forge(header: Record<string, unknown>, payload: Record<string, unknown> = claims(), key?: KeyObject): string {
  return forgeRaw(JSON.stringify(header), JSON.stringify(payload), key);
}

const goodHeader = (extra: Record<string, unknown> = {}) => ({ alg: 'RS256', typ: 'handoff+jwt', kid: KID, ...extra });

/** Asserts the rejection code and that nothing was recorded. Returns the error for more checks. */
async function expectRejected(token: unknown, code: TesseraErrorCode, extra: Partial<HandoffVerifyOptions> = {}): Promise<unknown> {
  const error = await verifyHandoff(token, options(extra)).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toMatchObject({ code });
  expect(rememberJti).not.toHaveBeenCalled();
  expect(recorded.size).toBe(0);
  return error;
}

describe('mintHandoff', () => {
  it('signs the header and claims of DESIGN.md with the current key', async () => {
    const token = mintHandoff(signer, input, { clock, issuer: ISSUER });
    const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>);
    expect(header).toEqual({ alg: 'RS256', typ: 'handoff+jwt', kid: KID });
    expect(payload).toEqual({
      iss: ISSUER, aud: AUDIENCE, sub: 'user-42', sid: SID, src: 'login.example.com', dst: DST,
      iat: NOW, exp: NOW + 30, jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), email: 'ada@example.org',
    });
  });

  it('omits sub for an anonymous session and draws a fresh jti each time', () => {
    const decode = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    const a = decode(mintHandoff(signer, { ...input, sub: null }, { clock, issuer: ISSUER }));
    const b = decode(mintHandoff(signer, input, { clock, issuer: ISSUER }));
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

describe('verifyHandoff accepts', () => {
  it('a freshly minted token, recording its jti until exp plus tolerance', async () => {
    const token = mintHandoff(signer, input, { clock, issuer: ISSUER, ttlSeconds: 30 });
    clock.advance(34_000);
    const result = await verifyHandoff(token, options());
    expect(result.claims).toEqual({ iss: ISSUER, aud: AUDIENCE, sub: 'user-42', sid: SID, src: 'login.example.com', dst: DST, iat: NOW, exp: NOW + 30, jti: result.claims.jti });
    expect(result.identity).toEqual({ email: 'ada@example.org' });
    expect(result).toMatchObject({ kid: KID, jtiRecorded: true, jtiExpiresAt: NOW + 35 });
    expect([...recorded]).toEqual([[result.claims.jti, NOW + 35]]);
  });

  it('an ES256 token through an asynchronous key lookup (as a JWKS client does)', async () => {
    const ecSigner = { signingKey: () => ({ kid: EC_KID, alg: 'ES256' as const, privateKey: ec.privateKey }) };
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
    expect(rememberJti).toHaveBeenCalledWith(result.claims.jti, NOW + 35, input.sid);
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
    ['ES256', { signingKey: () => ({ kid: EC_KID, alg: 'ES256' as const, privateKey: ec.privateKey }) }, ec.publicKey],
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

describe('verifyHandoff rejects', () => {
  it('alg none', async () => {
    const token = `${b64(JSON.stringify(goodHeader({ alg: 'none' })))}.${b64(JSON.stringify(claims()))}.`;
    await expectRejected(token, 'ERR_HANDOFF_ALG');
    expect(keys).not.toHaveBeenCalled();
  });

  it('HS256 signed with the public key as the secret', async () => {
    const signingInput = `${b64(JSON.stringify(goodHeader({ alg: 'HS256' })))}.${b64(JSON.stringify(claims()))}`;
    const secret = rsa.publicKey.export({ type: 'spki', format: 'pem' });
    const token = `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
    await expectRejected(token, 'ERR_HANDOFF_ALG');
    expect(keys).not.toHaveBeenCalled();
  });

  it('a token signed with another key under a real kid', async () => {
    await expectRejected(forge(goodHeader(), claims(), otherRsa.privateKey), 'ERR_HANDOFF_SIGNATURE');
  });

  it('a key from the lookup that is too weak for its alg', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const token = forge(goodHeader(), claims(), weak.privateKey);
    await expectRejected(token, 'ERR_HANDOFF_SIGNATURE', { keys: () => ({ alg: 'RS256', publicKey: weak.publicKey }) });
  });

  it('an ES256 signature in DER form instead of r || s', async () => {
    const signingInput = `${b64(JSON.stringify(goodHeader({ alg: 'ES256', kid: EC_KID })))}.${b64(JSON.stringify(claims()))}`;
    const der = sign('sha256', Buffer.from(signingInput), ec.privateKey);
    await expectRejected(`${signingInput}.${der.toString('base64url')}`, 'ERR_HANDOFF_SIGNATURE');
  });

  it('a token whose alg differs from its key', async () => {
    await expectRejected(forge(goodHeader({ alg: 'ES256', kid: KID })), 'ERR_HANDOFF_ALG');
  });

  it('an unknown kid', async () => {
    await expectRejected(forge(goodHeader({ kid: keyThumbprint(otherRsa.publicKey) }), claims(), otherRsa.privateKey), 'ERR_HANDOFF_KID_UNKNOWN');
  });

  it('a missing kid', async () => {
    await expectRejected(forge({ alg: 'RS256', typ: 'handoff+jwt' }), 'ERR_HANDOFF_KID_MISSING');
    expect(keys).not.toHaveBeenCalled();
  });

  it.each([['../../etc/passwd'], ['a'.repeat(65)], [''], [42]])('a malformed kid %p, before any lookup', async (kid) => {
    await expectRejected(forge(goodHeader({ kid })), 'ERR_HANDOFF_KID_MALFORMED');
    expect(keys).not.toHaveBeenCalled();
  });

  it.each([
    ['jku', 'https://evil.example/jwks.json'],
    ['x5u', 'https://evil.example/cert.pem'],
    ['jwk', createPublicKey(otherRsa.privateKey).export({ format: 'jwk' })],
    ['x5c', ['MIIB']],
    ['crit', ['exp']],
  ])('a %s header', async (name, value) => {
    await expectRejected(forge(goodHeader({ [name]: value })), 'ERR_HANDOFF_HEADER_FORBIDDEN');
    expect(keys).not.toHaveBeenCalled();
  });

  it.each([['JWT'], ['logout+jwt'], [undefined]])('typ %p', async (typ) => {
    await expectRejected(forge(goodHeader({ typ })), 'ERR_HANDOFF_TYP');
  });

  it('a wrong iss', async () => {
    await expectRejected(forge(goodHeader(), claims({ iss: 'https://login.evil.example' })), 'ERR_HANDOFF_ISSUER');
  });

  it('a wrong aud', async () => {
    await expectRejected(forge(goodHeader(), claims({ aud: 'https://shop.example.net' })), 'ERR_HANDOFF_AUDIENCE');
  });

  it('an audience array, even one naming this site', async () => {
    await expectRejected(forge(goodHeader(), claims({ aud: [AUDIENCE] })), 'ERR_HANDOFF_AUDIENCE');
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

  it('an iat in the future (beyond tolerance)', async () => {
    await expectRejected(forge(goodHeader(), claims({ iat: NOW + 6, exp: NOW + 36 })), 'ERR_HANDOFF_IAT_FUTURE');
  });

  it('a lifetime above the cap', async () => {
    await expectRejected(forge(goodHeader(), claims({ exp: NOW + 121 })), 'ERR_HANDOFF_LIFETIME');
  });

  it('a missing exp', async () => {
    await expectRejected(forge(goodHeader(), claims({ exp: undefined })), 'ERR_HANDOFF_CLAIMS');
  });

  it('a missing jti', async () => {
    await expectRejected(forge(goodHeader(), claims({ jti: undefined })), 'ERR_HANDOFF_JTI_MISSING');
  });

  it('a malformed sid', async () => {
    await expectRejected(forge(goodHeader(), claims({ sid: 'short' })), 'ERR_HANDOFF_CLAIMS');
  });

  it('a replayed token, recording its jti once', async () => {
    const token = mintHandoff(signer, input, { clock, issuer: ISSUER });
    await verifyHandoff(token, options());
    const error = await verifyHandoff(token, options()).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'ERR_HANDOFF_REPLAYED' });
    expect(rememberJti).toHaveBeenCalledTimes(2);
    expect(recorded.size).toBe(1);
  });

  it('an oversize token, before parsing or lookup', async () => {
    const token = forge(goodHeader(), claims({ padding: 'x'.repeat(4096) }));
    await expectRejected(token, 'ERR_HANDOFF_OVERSIZE');
    expect(keys).not.toHaveBeenCalled();
  });

  it.each([
    ['a character outside base64url', (t: string) => t.replace('.', '.+')],
    ['padding', (t: string) => t.replace('.', '=.')],
    ['two segments', (t: string) => t.slice(0, t.lastIndexOf('.'))],
    ['four segments', (t: string) => `${t}.AA`],
  ])('malformed base64url or structure: %s', async (_name, damage) => {
    await expectRejected(damage(forge(goodHeader())), 'ERR_HANDOFF_MALFORMED');
    expect(keys).not.toHaveBeenCalled();
  });

  it('a non-string token', async () => {
    await expectRejected({ token: 'x' }, 'ERR_HANDOFF_MALFORMED');
  });

  it('duplicate members in the payload', async () => {
    const payload = JSON.stringify(claims()).replace('{', `{"aud":"https://shop.example.net",`);
    const error = await expectRejected(forgeRaw(JSON.stringify(goodHeader()), payload), 'ERR_HANDOFF_DUPLICATE_CLAIM');
    expect(error).toMatchObject({ claim: 'aud' });
  });

  it('duplicate members in the header', async () => {
    const header = JSON.stringify(goodHeader()).replace('{', '{"alg":"none",');
    await expectRejected(forgeRaw(header, JSON.stringify(claims())), 'ERR_HANDOFF_DUPLICATE_CLAIM');
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
