/**
 * What the tests of each token type (handoff, logout) share: the hub's keys as a verifier sees
 * them, tokens forged by hand so that every header and claim can be bent, a replay store that
 * shows what it recorded, the one assertion every rejection makes, and the table of rejections
 * every type makes alike (compact-jws.ts and registered-claims.ts), run once per type so each
 * type is seen to answer every shared check with its own code.
 */
import { createHmac, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { TesseraErrorCode } from '../../../src/core/errors';
import { keyThumbprint } from '../../../src/core/keys/jwk';
import type { VerificationKey } from '../../../src/core/keys/keyring';

export const NOW = 1_700_000_000;
export const ISSUER = 'https://login.example.com';
export const AUDIENCE = 'https://www.example.org';
export const SID = 'AAAAAAAAAAAAAAAAAAAAAA';
export const JTI = 'BBBBBBBBBBBBBBBBBBBBBB';

export const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
/** A key the hub never published. */
export const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
export const KID = keyThumbprint(rsa.publicKey);
export const EC_KID = keyThumbprint(ec.publicKey);
export const published = new Map<string, VerificationKey>([
  [KID, { alg: 'RS256', publicKey: rsa.publicKey }],
  [EC_KID, { alg: 'ES256', publicKey: ec.publicKey }],
]);
export const signer = { signingKey: () => ({ kid: KID, alg: 'RS256' as const, privateKey: rsa.privateKey }) };
export const ecSigner = { signingKey: () => ({ kid: EC_KID, alg: 'ES256' as const, privateKey: ec.privateKey }) };

/** A synchronous key lookup over {@link published}, as the hub's keyring is; a mock, to assert it was never reached. */
export function keyLookup(): jest.Mock<VerificationKey | null, [string]> {
  return jest.fn((kid: string) => published.get(kid) ?? null);
}

/** An atomic remember-once store in a Map, as `ReplayStore.rememberOnce` behaves. */
export function replayRecorder(): { recorded: Map<string, number>; rememberJti: jest.Mock<Promise<boolean>, [string, number, string]> } {
  const recorded = new Map<string, number>();
  const rememberJti = jest.fn(async (jti: string, expiresAt: number, _sid: string) => {
    if (recorded.has(jti)) return false;
    recorded.set(jti, expiresAt);
    return true;
  });
  return { recorded, rememberJti };
}

export const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

/** One decoded segment of a compact JWS: 0 the header, 1 the payload. */
export const decodeSegment = (token: string, index: 0 | 1) => JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString()) as Record<string, unknown>;

/** A compact JWS built by hand, RS256-signed with `key`, from raw header and payload JSON text. */
export function forgeRaw(headerJson: string, payloadJson: string, key: KeyObject = rsa.privateKey): string {
  const signingInput = `${b64(headerJson)}.${b64(payloadJson)}`;
  return `${signingInput}.${sign('sha256', Buffer.from(signingInput), key).toString('base64url')}`;
}

/**
 * Awaits a verification that must fail, and asserts its code and that no jti was recorded
 * (SECURITY.md: a rejected token records nothing). Returns the error for more checks.
 */
export async function expectRejection(verifying: Promise<unknown>, code: TesseraErrorCode, replay: ReturnType<typeof replayRecorder>): Promise<unknown> {
  const error = await verifying.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toMatchObject({ code });
  expect(replay.rememberJti).not.toHaveBeenCalled();
  expect(replay.recorded.size).toBe(0);
  return error;
}

/** A token type, as {@link sharedRejections} needs to know it. */
export interface TokenType {
  typ: string;
  /** Valid claims of this type with `extra` merged in; an undefined member leaves that claim out. */
  claims(extra?: Record<string, unknown>): Record<string, unknown>;
}

/** What a shared rejection must show besides its code. */
export interface RejectionExpectation {
  /** The `claim` the error names; undefined for the header and structure checks. */
  claim?: string;
  /** Refused before the key lookup: pure string work, so a forgery costs no (JWKS) fetch. */
  beforeLookup: boolean;
}

/** One rejection: its name, the token, the code's ending (`ERR_<TYPE>_<suffix>`), what else it shows. */
export type SharedRejection = [name: string, token: unknown, suffix: string, expected: RejectionExpectation];

/**
 * Every rejection that handoff and logout tokens make in the same way, as tokens of `type`:
 * DESIGN.md "The handoff token" and SECURITY.md "Tokens", check by check.
 *
 * @example
 * it.each(sharedRejections({ typ: 'logout+jwt', claims }))('%s', async (_name, token, suffix, expected) => …);
 */
export function sharedRejections(type: TokenType): SharedRejection[] {
  const header = (extra: Record<string, unknown> = {}) => ({ alg: 'RS256', typ: type.typ, kid: KID, ...extra });
  const forge = (h: Record<string, unknown>, payload = type.claims(), key?: KeyObject) => forgeRaw(JSON.stringify(h), JSON.stringify(payload), key);
  const unsigned = (h: Record<string, unknown>) => `${b64(JSON.stringify(h))}.${b64(JSON.stringify(type.claims()))}`;
  const hmacInput = unsigned(header({ alg: 'HS256' }));
  const secret = rsa.publicKey.export({ type: 'spki', format: 'pem' });
  const derInput = unsigned(header({ alg: 'ES256', kid: EC_KID }));
  const early = { beforeLookup: true };
  const late = { beforeLookup: false };
  const claim = (name: string) => ({ claim: name, beforeLookup: false });
  return [
    ['alg none', `${unsigned(header({ alg: 'none' }))}.`, 'ALG', early],
    ['HS256 signed with the public key as the secret', `${hmacInput}.${createHmac('sha256', secret).update(hmacInput).digest('base64url')}`, 'ALG', early],
    ['a token whose alg differs from its key', forge(header({ alg: 'ES256' })), 'ALG', late],
    ['a token signed with another key under a real kid', forge(header(), type.claims(), otherRsa.privateKey), 'SIGNATURE', late],
    ['an ES256 signature in DER form instead of r || s', `${derInput}.${sign('sha256', Buffer.from(derInput), ec.privateKey).toString('base64url')}`, 'SIGNATURE', late],
    ['an unknown kid', forge(header({ kid: keyThumbprint(otherRsa.publicKey) }), type.claims(), otherRsa.privateKey), 'KID_UNKNOWN', late],
    ['a missing kid', forge({ alg: 'RS256', typ: type.typ }), 'KID_MISSING', early],
    ...['../../etc/passwd', 'a'.repeat(65), '', 42].map((kid): SharedRejection => [`a malformed kid ${JSON.stringify(kid)}`, forge(header({ kid })), 'KID_MALFORMED', early]),
    ...Object.entries({
      jku: 'https://evil.example/jwks.json',
      x5u: 'https://evil.example/cert.pem',
      jwk: createPublicKey(otherRsa.privateKey).export({ format: 'jwk' }),
      x5c: ['MIIB'],
      crit: ['exp'],
    }).map(([name, value]): SharedRejection => [`a ${name} header`, forge(header({ [name]: value })), 'HEADER_FORBIDDEN', early]),
    ['typ JWT', forge(header({ typ: 'JWT' })), 'TYP', early],
    ['no typ', forge(header({ typ: undefined })), 'TYP', early],
    ['an oversize token', forge(header(), type.claims({ padding: 'x'.repeat(4096) })), 'OVERSIZE', early],
    ...Object.entries({
      'a character outside base64url': (t: string) => t.replace('.', '.+'),
      padding: (t: string) => t.replace('.', '=.'),
      'two segments': (t: string) => t.slice(0, t.lastIndexOf('.')),
      'four segments': (t: string) => `${t}.AA`,
    }).map(([name, damage]): SharedRejection => [`malformed base64url or structure: ${name}`, damage(forge(header())), 'MALFORMED', early]),
    ['a non-string token', { token: 'x' }, 'MALFORMED', early],
    ['duplicate members in the payload', forgeRaw(JSON.stringify(header()), JSON.stringify(type.claims()).replace('{', '{"aud":"https://shop.example.net",')), 'DUPLICATE_CLAIM', { claim: 'aud', beforeLookup: true }],
    ['duplicate members in the header', forgeRaw(JSON.stringify(header()).replace('{', '{"alg":"none",'), JSON.stringify(type.claims())), 'DUPLICATE_CLAIM', { claim: 'alg', beforeLookup: true }],
    ['a wrong iss', forge(header(), type.claims({ iss: 'https://login.evil.example' })), 'ISSUER', claim('iss')],
    ['a wrong aud', forge(header(), type.claims({ aud: 'https://shop.example.net' })), 'AUDIENCE', claim('aud')],
    ['an audience array, even one naming this site', forge(header(), type.claims({ aud: [AUDIENCE] })), 'AUDIENCE', claim('aud')],
    ['a missing exp', forge(header(), type.claims({ exp: undefined })), 'CLAIMS', claim('exp')],
    ['a missing iat', forge(header(), type.claims({ iat: undefined })), 'CLAIMS', claim('iat')],
    ['an iat in the future (beyond tolerance)', forge(header(), type.claims({ iat: NOW + 6, exp: NOW + 36 })), 'IAT_FUTURE', claim('iat')],
    ['a lifetime above 120 s', forge(header(), type.claims({ iat: NOW, exp: NOW + 121 })), 'LIFETIME', claim('exp')],
    ['a missing jti', forge(header(), type.claims({ jti: undefined })), 'JTI_MISSING', claim('jti')],
    ['a malformed jti', forge(header(), type.claims({ jti: 'short' })), 'CLAIMS', claim('jti')],
    ['a missing sid', forge(header(), type.claims({ sid: undefined })), 'CLAIMS', claim('sid')],
    ['a malformed sid', forge(header(), type.claims({ sid: 'short' })), 'CLAIMS', claim('sid')],
    ['an empty sub', forge(header(), type.claims({ sub: '' })), 'CLAIMS', claim('sub')],
  ];
}
