import { createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { jwkThumbprint, keyThumbprint, publicJwk, type RsaJwkMembers } from '../../../src/core/keys/jwk';
import vectors from './fixtures/rfc7638-vectors.json';

describe('jwkThumbprint (RFC 7638)', () => {
  it.each(vectors)('matches the $source example', ({ jwk, thumbprint }) => {
    // The vector's JWK carries alg and kid too: they must not enter the hash.
    expect(jwkThumbprint(jwk as RsaJwkMembers)).toBe(thumbprint);
  });

  it.each(vectors)('gives the same kid for the $source key imported as a KeyObject', ({ jwk, thumbprint }) => {
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    expect(keyThumbprint(key)).toBe(thumbprint);
  });

  it('is insensitive to member order and distinguishes different keys', () => {
    const a = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const b = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const members = a.export({ format: 'jwk' }) as { crv: string; x: string; y: string };
    const reordered = { y: members.y, x: members.x, kty: 'EC' as const, crv: members.crv };
    expect(jwkThumbprint(reordered)).toBe(keyThumbprint(a));
    expect(keyThumbprint(a)).not.toBe(keyThumbprint(b));
  });
});

describe('publicJwk', () => {
  it('publishes only the allow-listed RSA members, even when given the private key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicJwk(privateKey, 'RS256');
    expect(Object.keys(jwk).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(jwk).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: keyThumbprint(publicKey), e: 'AQAB' });
  });

  it('publishes only the allow-listed EC members', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicJwk(privateKey, 'ES256');
    expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
  });

  it('refuses key types the hub never uses', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    expect(() => publicJwk(publicKey, 'ES256')).toThrow(/unsupported key type/);
  });
});
