/**
 * The registered JWT claims (RFC 7519 §4.1, and OpenID's `sid`) as every Tessera token type
 * mints and checks them: the checks run after the signature verified, the same way for each
 * type. `jsonwebtoken` does not require `exp`, check a future `iat` or cap the lifetime, so
 * these are ours (SECURITY.md "Tokens").
 */
import type { Clock } from '../clock';
import { TesseraError } from '../errors';
import { RandomPool } from '../random-pool';
import type { TokenCodes } from './rejection-codes';

/** 128 random bits in base64url: the shape of every jti and sid the hub issues. */
export const RANDOM_128_BASE64URL = /^[A-Za-z0-9_-]{22}$/;

/** The claims every Tessera token about a session carries, as a verifier returns them. */
export interface SessionTokenClaims {
  iss: string;
  aud: string;
  /** User id; absent for an anonymous session. */
  sub?: string;
  sid: string;
  iat: number;
  exp: number;
  jti: string;
}

/** What every token type's verifier checks the registered claims against. */
export interface RegisteredClaimRules {
  /** The hub's origin. */
  issuer: string;
  /** This recipient's origin. */
  audience: string;
  clock: Clock;
  /** Allowed clock skew for exp / iat. Default 5, at most 60. */
  clockToleranceSeconds?: number;
}

/** Allowed clock skew for `exp` and `iat` unless a verifier configures its own. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 5;

/** The `clockToleranceSeconds` option of a verifier: default 5, an integer from 0 to 60. */
export function clockToleranceOption(value: number | undefined): number {
  const tolerance = value ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (!Number.isSafeInteger(tolerance) || tolerance < 0 || tolerance > 60) {
    throw new TesseraError('ERR_CONFIG_INVALID', '"clockToleranceSeconds" must be an integer from 0 to 60');
  }
  return tolerance;
}

/**
 * A lifetime option (`ttlSeconds` to mint, `maxLifetimeSeconds` to verify): `fallback` when
 * absent, else an integer from 1 to the token type's hard cap.
 *
 * @example
 * const ttl = lifetimeOption('logout "ttlSeconds"', options.ttlSeconds, 120, 120);
 */
export function lifetimeOption(name: string, value: number | undefined, fallback: number, max: number): number {
  const seconds = value ?? fallback;
  if (!Number.isSafeInteger(seconds) || seconds <= 0 || seconds > max) {
    throw new TesseraError('ERR_CONFIG_INVALID', `${name} must be an integer from 1 to ${max}`);
  }
  return seconds;
}

/**
 * Before minting: the `sid` has the shape of the hub's ids and the `sub` is a user id or null
 * (anonymous). Anything else is a bug in the caller, never the user's doing.
 */
export function checkSessionToMint(sid: string, sub: string | null | undefined): void {
  if (!RANDOM_128_BASE64URL.test(sid)) throw new TesseraError('ERR_INTERNAL', 'token sid is not a 128-bit base64url id');
  if (sub === '') throw new TesseraError('ERR_INTERNAL', 'token sub is empty (use null for an anonymous session)');
}

/**
 * Hosts of the audiences seen so far. Audiences are the configured sites, a handful; parsing
 * one with WHATWG URL on every mint was a measurable share of it (bench/).
 */
const hostByAudience = new Map<string, string>();

/**
 * Before minting: the host of an audience such as `https://www.example.org`; anything but a
 * bare origin is refused, so a token never names a path or a user-info part as its audience.
 */
export function audienceHost(origin: string): string {
  let host = hostByAudience.get(origin);
  if (host === undefined) {
    host = originHost(origin);
    // Bounded in case a caller ever passes many distinct audiences.
    if (hostByAudience.size >= 1000) hostByAudience.clear();
    hostByAudience.set(origin, host);
  }
  return host;
}

function originHost(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch (cause) {
    throw new TesseraError('ERR_INTERNAL', `token audience ${JSON.stringify(origin)} is not a URL`, { cause });
  }
  if (url.origin !== origin) throw new TesseraError('ERR_INTERNAL', `token audience ${JSON.stringify(origin)} is not an origin`);
  return url.host;
}

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
const jtiPool = new RandomPool(JTI_BYTES * 256);

/**
 * A fresh jti: 128 bits from crypto.randomBytes, base64url. Each pool byte is used once; a jti
 * is public (it travels in the token), so bytes drawn ahead of time reveal nothing.
 */
export function newJti(): string {
  return jtiPool.take(JTI_BYTES, 'base64url');
}

/** `jti` is required and has the shape of the hub's 128-bit random ids. */
export function checkJti(payload: Record<string, unknown>, codes: TokenCodes): string {
  const { jti } = payload;
  if (jti === undefined) throw new TesseraError(codes.jtiMissing, 'jti missing', { claim: 'jti' });
  if (typeof jti !== 'string' || !RANDOM_128_BASE64URL.test(jti)) throw new TesseraError(codes.claims, 'jti malformed', { claim: 'jti' });
  return jti;
}

/** `sid` has the shape of the hub's ids; `sub`, when present, is a non-empty user id. */
export function checkSession(payload: Record<string, unknown>, codes: TokenCodes): { sid: string; sub: string | undefined } {
  const { sid, sub } = payload;
  if (typeof sid !== 'string' || !RANDOM_128_BASE64URL.test(sid)) throw new TesseraError(codes.claims, 'sid malformed', { claim: 'sid' });
  if (sub !== undefined && (typeof sub !== 'string' || sub.length === 0)) throw new TesseraError(codes.claims, 'sub malformed', { claim: 'sub' });
  return { sid, sub };
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
