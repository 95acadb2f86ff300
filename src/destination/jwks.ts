/**
 * The hub's public keys, from its JWKS through jwks-rsa (DESIGN.md "Keys and JWKS"). jwks-rsa
 * layers a cache (10 minutes, 5 keys) outside a rate limit (10 fetches a minute): a known kid is
 * answered from the cache without spending the budget, while tokens with made-up kids each
 * miss the cache and together cost at most 10 fetches a minute, never a refetch storm. A key
 * fetched once keeps verifying through a hub outage until its cache entry expires.
 *
 * That budget is the forgers' to spend, so it must not also be the one that refreshes a real
 * key: ten made-up kids a minute would keep it spent, and once the real key's cache entry
 * expired every genuine token would be refused. A kid the JWKS did publish is refreshed, when
 * the shared budget is spent, through a second client (its own cache and rate limit) that only
 * such kids reach; a kid the hub stops publishing leaves that set at its next lookup.
 *
 * Signature checking itself stays in the core verifier (src/core/tokens/compact-jws.ts), which
 * both receivers share; this file only answers "which key has this kid".
 */
import { createPublicKey } from 'node:crypto';
import type { Agent } from 'node:https';
import jwksRsa from 'jwks-rsa';
import { TesseraError } from '../core/errors';
import type { VerificationKey } from '../core/keys/keyring';
import type { KeyLookup } from '../core/tokens/compact-jws';
import type { SigningAlgorithm } from '../ports';
import type { DestinationLogger } from './options';

export const JWKS_CACHE_MAX_AGE_MS = 10 * 60 * 1000;
export const JWKS_REQUESTS_PER_MINUTE = 10;

export interface JwksLookupOptions {
  /** `<hub>/.well-known/jwks.json`. */
  jwksUri: string;
  /** Accepted algorithms: a published key for another one is as good as unknown. */
  algorithms: readonly SigningAlgorithm[];
  agent: Agent | null;
  timeoutMs: number;
  logger: DestinationLogger;
}

/**
 * A key lookup for the core verifier backed by the hub's JWKS. Resolves null for a kid the hub
 * does not publish (and while the rate limit holds back a refetch); rejects with
 * `ERR_HUB_UNAVAILABLE` (503) when the JWKS cannot be fetched at all.
 *
 * @example
 * const keys = jwksKeyLookup({ jwksUri: 'https://login.example.com/.well-known/jwks.json', algorithms: ['RS256'], agent: null, timeoutMs: 3000, logger });
 * await verifyHandoff(token, { keys, ... });
 */
export function jwksKeyLookup(options: JwksLookupOptions): KeyLookup {
  const settings: jwksRsa.Options = {
    jwksUri: options.jwksUri,
    cache: true,
    cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
    rateLimit: true,
    jwksRequestsPerMinute: JWKS_REQUESTS_PER_MINUTE,
    timeout: options.timeoutMs,
    ...(options.agent === null ? {} : { requestAgent: options.agent }),
  };
  const client = jwksRsa(settings);
  const refresher = jwksRsa(settings);
  // Kids the JWKS has published: at most the hub's own keys.
  const published = new Set<string>();
  // jwks-rsa hands back the same SigningKey object while it is cached: parse its PEM once.
  const converted = new WeakMap<jwksRsa.SigningKey, VerificationKey | null>();

  async function signingKeyFor(kid: string): Promise<jwksRsa.SigningKey> {
    try {
      return await client.getSigningKey(kid);
    } catch (err) {
      if (errorName(err) === 'JwksRateLimitError' && published.has(kid)) return refresher.getSigningKey(kid);
      throw err;
    }
  }

  return async (kid) => {
    let signingKey: jwksRsa.SigningKey;
    try {
      signingKey = await signingKeyFor(kid);
    } catch (err) {
      const name = errorName(err);
      if (name === 'SigningKeyNotFoundError') {
        published.delete(kid);
        return null;
      }
      if (name === 'JwksRateLimitError') {
        options.logger.warn({ code: 'ERR_HANDOFF_KID_UNKNOWN', kid }, 'JWKS refetch held back by the rate limit');
        return null;
      }
      throw new TesseraError('ERR_HUB_UNAVAILABLE', "the hub's JWKS could not be fetched", { cause: err });
    }
    published.add(kid);
    let key = converted.get(signingKey);
    if (key === undefined) {
      const alg = signingKey.alg as SigningAlgorithm;
      key = options.algorithms.includes(alg) ? { alg, publicKey: createPublicKey(signingKey.getPublicKey()) } : null;
      converted.set(signingKey, key);
    }
    return key;
  };
}

function errorName(err: unknown): unknown {
  return (err as { name?: unknown }).name;
}
