/**
 * Logout tokens (DESIGN.md "The flows" 4): the signed JWT the hub POSTs, form-encoded as
 * `logout_token`, to a site's back-channel logout endpoint when a session ends, shaped as
 * OpenID Connect Back-Channel Logout 1.0 §2.4 describes.
 *
 *   header  {"alg":"RS256","typ":"logout+jwt","kid":"<RFC 7638 thumbprint>"}
 *   claims  iss (hub origin), aud (site origin), iat, exp (at most iat + 120 s), jti (128-bit
 *           random), sid, sub (user id, absent when anonymous),
 *           events {"http://schemas.openid.net/event/backchannel-logout": {}}; never a nonce.
 *
 * Verification shares the header and signature checks of compact-jws.ts and the registered
 * claim checks with handoff tokens, each failure with its own `ERR_LOGOUT_*` code: header and
 * signature, then iss, aud, exp, iat, lifetime, jti, events, nonce, sid. Only `typ` tells the
 * two types apart, so it is matched exactly (RFC 8725 §3.11): a handoff token is no logout
 * token and the reverse. `events` and the absence of `nonce` are what OpenID adds to keep an
 * ID token from passing as a logout token (§2.6). The jti is recorded last, always: a logout
 * token has one use, and a forged or stale one never consumes a replay-cache entry.
 */
import { nowSeconds, type Clock } from '../clock';
import { TesseraError } from '../errors';
import { DEFAULT_MAX_TOKEN_BYTES, signCompactJws, verifyCompactJws, type TokenSigner, type VerifierKeyOptions } from './compact-jws';
import {
  audienceHost,
  checkAudience,
  checkIssuer,
  checkJti,
  checkSession,
  checkSessionToMint,
  checkTimes,
  clockToleranceOption,
  lifetimeOption,
  newJti,
  type RegisteredClaimRules,
  type SessionTokenClaims,
} from './registered-claims';
import { tokenCodes, type TokenCodes } from './rejection-codes';

export const LOGOUT_TYP = 'logout+jwt';
/** The one member of `events` (OpenID Connect Back-Channel Logout 1.0 §2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Hard cap on a logout token's lifetime, for minting and verifying alike; also the default. */
export const LOGOUT_MAX_TTL_SECONDS = 120;

const LOGOUT_CODES: TokenCodes = tokenCodes('LOGOUT');

/** The claims of a verified logout token (`events` is always the back-channel logout event, so it is left out). */
export type LogoutClaims = SessionTokenClaims;

export interface LogoutInput {
  /** The site's origin, e.g. `https://www.example.org`: becomes `aud`. */
  audience: string;
  /** The ended session's public handle. */
  sid: string;
  /** User id; null or absent for an anonymous session. */
  sub?: string | null;
}

export interface LogoutMintOptions {
  clock: Clock;
  /** The hub's origin (`publicUrl`): becomes `iss`. */
  issuer: string;
  /** Default and maximum 120; more is refused with `ERR_CONFIG_INVALID`. */
  ttlSeconds?: number;
}

/** What a site verifies a logout token with; `audience` is the site's own origin. */
export interface LogoutVerifyOptions extends RegisteredClaimRules, VerifierKeyOptions {
  /**
   * Records the jti until `expiresAt`; true only the first time (atomic, e.g.
   * `ReplayStore.rememberOnce`). Called only after every other check passed; false means
   * `ERR_LOGOUT_REPLAYED`.
   */
  rememberJti: (jti: string, expiresAt: number, sid: string) => Promise<boolean>;
}

/** A logout token that passed every check, its jti recorded. */
export interface VerifiedLogoutToken {
  claims: LogoutClaims;
  kid: string;
  /** Until when the jti stays recorded (`exp` plus the clock tolerance): the token is dead after. */
  jtiExpiresAt: number;
}

/**
 * Mints a logout token for one site with the signer's current key.
 *
 * @example
 * const token = mintLogout(keyring, { audience: 'https://www.example.org', sid, sub: user.id },
 *   { clock, issuer: 'https://login.example.com' });
 */
export function mintLogout(signer: TokenSigner, input: LogoutInput, options: LogoutMintOptions): string {
  const ttl = lifetimeOption('logout "ttlSeconds"', options.ttlSeconds, LOGOUT_MAX_TTL_SECONDS, LOGOUT_MAX_TTL_SECONDS);
  // Only the check matters here: the audience must be a bare origin, like a handoff's.
  audienceHost(input.audience);
  checkSessionToMint(input.sid, input.sub);
  const iat = nowSeconds(options.clock);
  // A null sub becomes undefined, which JSON leaves out: anonymous sessions carry no sub.
  const claims = {
    iss: options.issuer,
    aud: input.audience,
    iat,
    exp: iat + ttl,
    jti: newJti(),
    sid: input.sid,
    sub: input.sub ?? undefined,
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  };
  return signCompactJws(claims, signer.signingKey(), LOGOUT_TYP);
}

/**
 * Verifies a logout token completely: header, signature, claims, then single use through
 * `rememberJti`. Every rejection is a {@link TesseraError} with an `ERR_LOGOUT_*` code.
 *
 * @example
 * const { claims } = await verifyLogout(body.logout_token, {
 *   keys: jwks.lookup, algorithms: ['RS256'], issuer: 'https://login.example.com',
 *   audience: 'https://www.example.org', clock, rememberJti: (jti, exp, sid) => replay.rememberOnce(jti, exp, sid),
 * });
 * await destroyLocalSessions(claims.sid);
 */
export async function verifyLogout(token: unknown, options: LogoutVerifyOptions): Promise<VerifiedLogoutToken> {
  const tolerance = clockToleranceOption(options.clockToleranceSeconds);
  const maxTokenBytes = options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  const verifying = verifyCompactJws(token, { typ: LOGOUT_TYP, codes: LOGOUT_CODES, algorithms: options.algorithms, keys: options.keys, maxTokenBytes });
  const { payload, kid } = verifying instanceof Promise ? await verifying : verifying;

  checkIssuer(payload, options.issuer, LOGOUT_CODES);
  checkAudience(payload, options.audience, LOGOUT_CODES);
  const { iat, exp } = checkTimes(payload, { now: nowSeconds(options.clock), toleranceSeconds: tolerance, maxLifetimeSeconds: LOGOUT_MAX_TTL_SECONDS }, LOGOUT_CODES);
  const jti = checkJti(payload, LOGOUT_CODES);
  checkEvents(payload.events);
  if (Object.hasOwn(payload, 'nonce')) throw new TesseraError('ERR_LOGOUT_NONCE', 'a logout token carries no nonce', { claim: 'nonce' });
  const { sid, sub } = checkSession(payload, LOGOUT_CODES);

  const jtiExpiresAt = exp + tolerance;
  // The sid goes along, as for handoff tokens: a Redis replay store keys the jti by session.
  if (!(await options.rememberJti(jti, jtiExpiresAt, sid))) throw new TesseraError('ERR_LOGOUT_REPLAYED', 'jti already used', { claim: 'jti' });
  const claims: LogoutClaims = { iss: options.issuer, aud: options.audience, sid, iat, exp, jti };
  if (sub !== undefined) claims.sub = sub;
  return { claims, kid, jtiExpiresAt };
}

/** `events` is an object whose only member is the back-channel logout event, itself an object (§2.6 step 5). */
function checkEvents(events: unknown): void {
  if (!isJsonObject(events)) throw new TesseraError('ERR_LOGOUT_EVENTS', 'events missing or not an object', { claim: 'events' });
  const names = Object.keys(events);
  if (names.length !== 1 || names[0] !== BACKCHANNEL_LOGOUT_EVENT || !isJsonObject(events[BACKCHANNEL_LOGOUT_EVENT])) {
    throw new TesseraError('ERR_LOGOUT_EVENTS', `events must hold exactly ${BACKCHANNEL_LOGOUT_EVENT} with an object value`, { claim: 'events' });
  }
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
