/**
 * Checks of the registered JWT claims (RFC 7519 §4.1) that every Tessera token type makes in
 * the same way, after its signature verified. `jsonwebtoken` does not require `exp`, check a
 * future `iat` or cap the lifetime, so these are ours (SECURITY.md "Tokens").
 */
import { randomBytes } from 'node:crypto';
import { TesseraError } from '../errors';
import type { TokenCodes } from './rejection-codes';

/** 128 random bits in base64url: the shape of every jti and sid the hub issues. */
export const RANDOM_128_BASE64URL = /^[A-Za-z0-9_-]{22}$/;

/** `iss` must be exactly the hub's origin. */
export function checkIssuer(payload: Record<string, unknown>, issuer: string, codes: TokenCodes): void {
  if (payload.iss !== issuer) throw new TesseraError(codes.issuer, 'iss is not the hub', { claim: 'iss' });
}

/** `aud` must be exactly this recipient (a single string: the hub never issues audience arrays). */
export function checkAudience(payload: Record<string, unknown>, audience: string, codes: TokenCodes): void {
  if (payload.aud !== audience) throw new TesseraError(codes.audience, 'aud is not this recipient', { claim: 'aud' });
}

export interface TimeRules {
  /** Current time, whole Unix seconds. */
  now: number;
  toleranceSeconds: number;
  maxLifetimeSeconds: number;
}

/**
 * `exp` and `iat` are required numbers; the token has not expired (with tolerance), was not
 * issued in the future, and lived no longer than the cap. An `nbf`, if present, has passed.
 */
export function checkTimes(payload: Record<string, unknown>, rules: TimeRules, codes: TokenCodes): { iat: number; exp: number } {
  const { exp, iat, nbf } = payload;
  if (!isNumericDate(exp)) throw new TesseraError(codes.claims, 'exp missing or not a number', { claim: 'exp' });
  if (!isNumericDate(iat)) throw new TesseraError(codes.claims, 'iat missing or not a number', { claim: 'iat' });
  if (nbf !== undefined && !(isNumericDate(nbf) && nbf <= rules.now + rules.toleranceSeconds)) {
    throw new TesseraError(codes.claims, 'nbf not passed', { claim: 'nbf' });
  }
  if (rules.now >= exp + rules.toleranceSeconds) throw new TesseraError(codes.expired, 'token expired', { claim: 'exp' });
  if (iat > rules.now + rules.toleranceSeconds) throw new TesseraError(codes.iatFuture, 'iat is in the future', { claim: 'iat' });
  if (exp - iat > rules.maxLifetimeSeconds || exp <= iat) {
    throw new TesseraError(codes.lifetime, `lifetime ${exp - iat} s outside (0, ${rules.maxLifetimeSeconds}]`, { claim: 'exp' });
  }
  return { iat, exp };
}

const JTI_BYTES = 16;
/** Random bytes for jtis, fetched 256 jtis at a time: a randomBytes call per token cost 2 % of a mint (bench/). */
let jtiPool = Buffer.alloc(0);
let jtiOffset = 0;

/**
 * A fresh jti: 128 bits from crypto.randomBytes, base64url. Each pool byte is used once; a jti
 * is public (it travels in the token), so bytes drawn ahead of time reveal nothing.
 */
export function newJti(): string {
  if (jtiOffset + JTI_BYTES > jtiPool.length) {
    jtiPool = randomBytes(JTI_BYTES * 256);
    jtiOffset = 0;
  }
  jtiOffset += JTI_BYTES;
  return jtiPool.toString('base64url', jtiOffset - JTI_BYTES, jtiOffset);
}

/** `jti` is required and has the shape of the hub's 128-bit random ids. */
export function checkJti(payload: Record<string, unknown>, codes: TokenCodes): string {
  const { jti } = payload;
  if (jti === undefined) throw new TesseraError(codes.jtiMissing, 'jti missing', { claim: 'jti' });
  if (typeof jti !== 'string' || !RANDOM_128_BASE64URL.test(jti)) throw new TesseraError(codes.claims, 'jti malformed', { claim: 'jti' });
  return jti;
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
