import { generateKeyPairSync, verify } from 'node:crypto';
import type { TesseraErrorCode } from '../../../src/core/errors';
import { keyThumbprint } from '../../../src/core/keys/jwk';
import { signCompactJws, verifyCompactJws, type JwsVerification } from '../../../src/core/tokens/compact-jws';
import type { TokenCheck, TokenCodes } from '../../../src/core/tokens/rejection-codes';

// Codes named after the check, so a test can tell which check refused a token.
const checks: TokenCheck[] = ['oversize', 'malformed', 'duplicate', 'alg', 'typ', 'kidMissing', 'kidMalformed', 'kidUnknown', 'headerForbidden', 'signature', 'issuer', 'audience', 'expired', 'iatFuture', 'lifetime', 'claims', 'jtiMissing'];
const codes = Object.fromEntries(checks.map((check) => [check, `CHECK_${check}`])) as unknown as TokenCodes;
const codeOf = (check: TokenCheck): TesseraErrorCode => codes[check];

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsaKey = { kid: keyThumbprint(rsa.publicKey), alg: 'RS256' as const, privateKey: rsa.privateKey };
const ecKey = { kid: keyThumbprint(ec.publicKey), alg: 'ES256' as const, privateKey: ec.privateKey };
const keys = (kid: string) =>
  kid === rsaKey.kid ? { alg: 'RS256' as const, publicKey: rsa.publicKey } : kid === ecKey.kid ? { alg: 'ES256' as const, publicKey: ec.publicKey } : null;

function verification(typ: string): JwsVerification {
  return { typ, codes, algorithms: ['RS256', 'ES256'], keys, maxTokenBytes: 4096 };
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const decode = (segment: string): unknown => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));

describe('signCompactJws', () => {
  it('writes the header {alg, typ, kid} and the payload as given', () => {
    const [header, payload] = signCompactJws({ a: 'é' }, rsaKey, 'handoff+jwt').split('.');
    expect(decode(header!)).toEqual({ alg: 'RS256', typ: 'handoff+jwt', kid: rsaKey.kid });
    expect(decode(payload!)).toEqual({ a: 'é' });
  });

  it('signs ES256 as r || s (64 bytes), verifiable over the signing input', () => {
    const token = signCompactJws({ a: 1 }, ecKey, 'handoff+jwt');
    const dot = token.lastIndexOf('.');
    const signature = Buffer.from(token.slice(dot + 1), 'base64url');
    expect(signature).toHaveLength(64);
    expect(verify('sha256', Buffer.from(token.slice(0, dot)), { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
  });

  it('changes the header when the key changes (the header cache follows the kid)', () => {
    const first = signCompactJws({ a: 1 }, rsaKey, 'handoff+jwt').split('.')[0]!;
    const second = signCompactJws({ a: 1 }, ecKey, 'handoff+jwt').split('.')[0]!;
    expect(decode(second)).toEqual({ alg: 'ES256', typ: 'handoff+jwt', kid: ecKey.kid });
    expect(first).not.toBe(second);
  });
});

describe('verifyCompactJws', () => {
  it('returns the header, payload and kid, synchronously for a synchronous key lookup', () => {
    const result = verifyCompactJws(signCompactJws({ a: 1 }, rsaKey, 'handoff+jwt'), verification('handoff+jwt'));
    expect(result).toEqual({ header: { alg: 'RS256', typ: 'handoff+jwt', kid: rsaKey.kid }, payload: { a: 1 }, kid: rsaKey.kid });
  });

  it('refuses a token of another type even right after the same header passed for its own', () => {
    const token = signCompactJws({ a: 1 }, rsaKey, 'handoff+jwt');
    verifyCompactJws(token, verification('handoff+jwt'));
    expect(() => verifyCompactJws(token, verification('logout+jwt'))).toThrow(expect.objectContaining({ code: codeOf('typ') }));
  });

  it.each([
    ['padding', (t: string) => t.replace('.', '==.'), 'malformed'],
    // An ES256 signature is 86 characters: the last one carries 2 bits of data and 4 unused
    // bits, which must be zero. Setting one gives another spelling of the same bytes.
    ['a non-canonical last character', (t: string) => `${t.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(t.at(-1)!) | 1]}`, 'malformed'],
    ['invalid UTF-8 in the payload', (t: string) => `${t.split('.')[0]}.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.${t.split('.')[2]}`, 'malformed'],
  ] as const)('refuses %s', (_name, damage, check) => {
    const token = damage(signCompactJws({ a: 1 }, ecKey, 'handoff+jwt'));
    expect(() => verifyCompactJws(token, verification('handoff+jwt'))).toThrow(expect.objectContaining({ code: codeOf(check) }));
  });
});
