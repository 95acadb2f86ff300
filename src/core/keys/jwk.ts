/**
 * JSON Web Keys for the hub's signing keys: the RFC 7638 thumbprint that names a key (`kid`),
 * and the public JWK that `/.well-known/jwks.json` publishes.
 *
 * The public JWK is built from an allow-list of members (RFC 7518 §6.2.1, §6.3.1) rather than
 * by deleting private ones from a full export: a member a future Node version adds to
 * `KeyObject.export({ format: 'jwk' })` can then never leak private material.
 */
import { createHash, type KeyObject } from 'node:crypto';
import type { SigningAlgorithm } from '../../ports';

/** The members RFC 7638 §3.2 requires for an RSA thumbprint. */
export interface RsaJwkMembers {
  kty: 'RSA';
  n: string;
  e: string;
}

/** The members RFC 7638 §3.2 requires for an EC thumbprint. */
export interface EcJwkMembers {
  kty: 'EC';
  crv: string;
  x: string;
  y: string;
}

/** A public key as published in the JWKS: the key members plus `kid`, `alg` and `use`. */
export type PublicJwk = (RsaJwkMembers | EcJwkMembers) & {
  kid: string;
  alg: SigningAlgorithm;
  use: 'sig';
};

/**
 * RFC 7638 thumbprint: base64url SHA-256 of the required members, in lexicographic order, with
 * no whitespace. Other members of `jwk` (kid, alg, use, private parts) never enter the hash.
 *
 * @example
 * jwkThumbprint({ kty: 'RSA', n: '0vx7…', e: 'AQAB' }); // 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
 */
export function jwkThumbprint(jwk: RsaJwkMembers | EcJwkMembers): string {
  // Built by hand rather than with JSON.stringify of a sorted object so that the member order
  // is visible here and cannot depend on how the object was assembled.
  const canonical =
    jwk.kty === 'RSA'
      ? `{"e":${JSON.stringify(jwk.e)},"kty":"RSA","n":${JSON.stringify(jwk.n)}}`
      : `{"crv":${JSON.stringify(jwk.crv)},"kty":"EC","x":${JSON.stringify(jwk.x)},"y":${JSON.stringify(jwk.y)}}`;
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}

/**
 * The thumbprint members of a public (or private) RSA or EC key, picked from its JWK export.
 * Throws for other key types, which the hub never uses.
 */
export function jwkMembers(key: KeyObject): RsaJwkMembers | EcJwkMembers {
  const exported = key.export({ format: 'jwk' });
  if (exported.kty === 'RSA' && typeof exported.n === 'string' && typeof exported.e === 'string') {
    return { kty: 'RSA', n: exported.n, e: exported.e };
  }
  if (exported.kty === 'EC' && typeof exported.crv === 'string' && typeof exported.x === 'string' && typeof exported.y === 'string') {
    return { kty: 'EC', crv: exported.crv, x: exported.x, y: exported.y };
  }
  throw new TypeError(`unsupported key type for a JWK: ${String(key.asymmetricKeyType)}`);
}

/**
 * The `kid` of a key: the RFC 7638 thumbprint of its public part.
 *
 * @example
 * const kid = keyThumbprint(createPublicKey(pem));
 */
export function keyThumbprint(key: KeyObject): string {
  return jwkThumbprint(jwkMembers(key));
}

/**
 * The publishable JWK of a key (pass the public key; a private key gives the same result since
 * only allow-listed public members are copied).
 *
 * @example
 * publicJwk(publicKey, 'RS256'); // { kty: 'RSA', n, e, kid, alg: 'RS256', use: 'sig' }
 */
export function publicJwk(key: KeyObject, alg: SigningAlgorithm): PublicJwk {
  const members = jwkMembers(key);
  return { ...members, kid: jwkThumbprint(members), alg, use: 'sig' };
}
