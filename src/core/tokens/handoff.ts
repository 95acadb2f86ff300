/**
 * Handoff tokens (DESIGN.md "The handoff token"): a short-lived signed JWT that carries a
 * session from the hub to one site.
 *
 *   header  {"alg":"RS256","typ":"handoff+jwt","kid":"<RFC 7638 thumbprint>"}
 *   claims  iss (hub origin), aud (destination origin), sub (user id, absent when anonymous),
 *           sid, src (host that embedded the beacon, or the hub), dst (destination host),
 *           iat, exp (iat + 30 s by default, at most 120 s), jti (128-bit random),
 *           then the identity claims the operator allows for that site.
 *
 * Verification rejects in DESIGN.md's order, each failure with its own `ERR_HANDOFF_*` code:
 * the header and signature checks of compact-jws.ts, then iss, aud, dst, src, exp, iat,
 * lifetime, jti, sid; the jti is recorded last, only once everything else passed, so a forged
 * or stale token never consumes a replay-cache entry.
 *
 * Two ways to record the jti: pass `rememberJti` (e.g. `ReplayStore.rememberOnce`) and
 * `verifyHandoff` does it; or omit it and record `claims.jti` until `jtiExpiresAt` yourself in
 * the same store round trip as the site link (`SessionStore.acceptHandoff`, the hub's hot
 * path). `jtiRecorded` in the result says which happened.
 */
import { nowSeconds, type Clock } from '../clock';
import { TesseraError } from '../errors';
import { DEFAULT_MAX_TOKEN_BYTES, signCompactJws, signCompactJwsAsync, verifyCompactJws, type TokenSigner, type VerifierKeyOptions } from './compact-jws';
import {
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
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

export const HANDOFF_TYP = 'handoff+jwt';
export const HANDOFF_DEFAULT_TTL_SECONDS = 30;
/** Hard cap on a handoff token's lifetime, for minting and verifying alike. */
export const HANDOFF_MAX_TTL_SECONDS = 120;
export const HANDOFF_DEFAULT_MAX_TOKEN_BYTES = DEFAULT_MAX_TOKEN_BYTES;
export const HANDOFF_DEFAULT_CLOCK_TOLERANCE_SECONDS = DEFAULT_CLOCK_TOLERANCE_SECONDS;

const HANDOFF_CODES: TokenCodes = tokenCodes('HANDOFF');

/** Claim names a handoff token sets itself; identity claims may not reuse them. */
const REGISTERED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'sid', 'src', 'dst']);

/** The registered claims of a verified handoff token. */
export interface HandoffClaims extends SessionTokenClaims {
  src: string;
  dst: string;
}

export interface HandoffInput {
  /** Destination site origin, e.g. `https://www.example.org`: becomes `aud`, its host `dst`. */
  audience: string;
  /** The session's public handle. */
  sid: string;
  /** User id; null or absent for an anonymous session. */
  sub?: string | null;
  /** Host that embedded the beacon or started the bounce, or the hub's host. */
  src: string;
  /** The identity claims the operator allows for this site (e.g. email, name, roles). */
  identity?: Record<string, unknown>;
}

export interface HandoffMintOptions {
  clock: Clock;
  /** The hub's origin (`publicUrl`): becomes `iss`. */
  issuer: string;
  /** Default 30; more than 120 is refused with `ERR_CONFIG_INVALID`. */
  ttlSeconds?: number;
}

/** What a receiver checks the claims against; `audience` is this site's origin. */
export interface HandoffClaimRules extends RegisteredClaimRules {
  /** This site's host. */
  destinationHost: string;
  /** True for the hub's host and every configured site's host. */
  isKnownSource: (host: string) => boolean;
  /** Longest accepted `exp - iat`. Default and maximum 120. */
  maxLifetimeSeconds?: number;
}

export interface HandoffVerifyOptions extends HandoffClaimRules, VerifierKeyOptions {
  /**
   * Records the jti until `expiresAt`; true only the first time (atomic, e.g.
   * `ReplayStore.rememberOnce`). Called only after every other check passed; false means
   * `ERR_HANDOFF_REPLAYED`. Omit it only if you record the jti yourself (see the file header).
   */
  rememberJti?: (jti: string, expiresAt: number, sid: string) => Promise<boolean>;
}

/** A handoff token whose claims passed (jti not yet recorded, unless verifyHandoff did it). */
export interface VerifiedHandoff {
  claims: HandoffClaims;
  /** The claims beyond the registered ones: the identity claims the hub included. */
  identity: Record<string, unknown>;
  /** Keep the jti remembered until then (`exp` plus the clock tolerance): the token is dead after. */
  jtiExpiresAt: number;
}

export interface VerifiedHandoffToken extends VerifiedHandoff {
  kid: string;
  /** True when `rememberJti` recorded the jti; false when the caller must. */
  jtiRecorded: boolean;
}

/**
 * Mints a handoff token for one destination with the signer's current key.
 *
 * @example
 * const token = mintHandoff(keyring, { audience: 'https://www.example.org', sid, sub: user.id,
 *   src: 'login.example.com', identity: { email: user.email } }, { clock, issuer: 'https://login.example.com' });
 */
export function mintHandoff(signer: TokenSigner, input: HandoffInput, options: HandoffMintOptions): string {
  return signCompactJws(handoffPayload(input, options), signer.signingKey(), HANDOFF_TYP);
}

/**
 * {@link mintHandoff} with the signature computed on libuv's thread pool (see
 * `signCompactJwsAsync`): for minting several tokens at once, signed in parallel.
 *
 * @example
 * const tokens = await Promise.all(sites.map((site) => mintHandoffAsync(keyring, { audience: site.origin, sid, src }, { clock, issuer })));
 */
export async function mintHandoffAsync(signer: TokenSigner, input: HandoffInput, options: HandoffMintOptions): Promise<string> {
  return signCompactJwsAsync(handoffPayload(input, options), signer.signingKey(), HANDOFF_TYP);
}

/** The claims of a new handoff token, after the checks every mint makes. */
function handoffPayload(input: HandoffInput, options: HandoffMintOptions): Record<string, unknown> {
  const ttl = lifetimeOption('handoff "ttlSeconds"', options.ttlSeconds, HANDOFF_DEFAULT_TTL_SECONDS, HANDOFF_MAX_TTL_SECONDS);
  const dst = audienceHost(input.audience);
  checkSessionToMint(input.sid, input.sub);
  if (input.src.length === 0) throw new TesseraError('ERR_INTERNAL', 'handoff src is empty');
  for (const name of Object.keys(input.identity ?? {})) {
    if (REGISTERED_CLAIMS.has(name)) throw new TesseraError('ERR_CONFIG_INVALID', `identity claim "${name}" would replace a registered claim`);
  }
  const iat = nowSeconds(options.clock);
  // A null sub becomes undefined, which JSON leaves out: anonymous sessions carry no sub.
  const claims = { iss: options.issuer, aud: input.audience, sub: input.sub ?? undefined, sid: input.sid, src: input.src, dst, iat, exp: iat + ttl, jti: newJti() };
  return input.identity ? { ...claims, ...input.identity } : claims;
}

/**
 * Verifies a handoff token completely: header, signature, claims and, when `rememberJti` is
 * given, single use. Every rejection is a {@link TesseraError} with an `ERR_HANDOFF_*` code.
 *
 * @example
 * const { claims, identity } = await verifyHandoff(token, {
 *   keys: (kid) => keyring.verificationKey(kid), algorithms: ['RS256'],
 *   issuer: 'https://login.example.com', audience: 'https://www.example.org', destinationHost: 'www.example.org',
 *   isKnownSource: (host) => sites.hasHost(host), clock, rememberJti: (jti, exp) => replay.rememberOnce(jti, exp),
 * });
 */
export async function verifyHandoff(token: unknown, options: HandoffVerifyOptions): Promise<VerifiedHandoffToken> {
  const maxTokenBytes = options.maxTokenBytes ?? HANDOFF_DEFAULT_MAX_TOKEN_BYTES;
  const verifying = verifyCompactJws(token, { typ: HANDOFF_TYP, codes: HANDOFF_CODES, algorithms: options.algorithms, keys: options.keys, maxTokenBytes });
  const { payload, kid } = verifying instanceof Promise ? await verifying : verifying;
  const { claims, identity, jtiExpiresAt } = verifyHandoffClaims(payload, options);
  const { rememberJti } = options;
  // The sid goes along: a Redis replay store keys the jti under the session's hash slot, the
  // same key SessionStore.acceptHandoff uses, so both paths see every spent jti.
  if (rememberJti !== undefined && !(await rememberJti(claims.jti, jtiExpiresAt, claims.sid))) {
    throw new TesseraError('ERR_HANDOFF_REPLAYED', 'jti already used', { claim: 'jti' });
  }
  // Listed member by member: an object spread here cost more than the claim checks (bench/).
  return { claims, identity, jtiExpiresAt, kid, jtiRecorded: rememberJti !== undefined };
}

/**
 * The claim checks alone, for a payload whose signature already verified (pure and
 * synchronous; the jti is not recorded).
 *
 * @example
 * const { claims, jtiExpiresAt } = verifyHandoffClaims(payload, rules);
 * await sessions.acceptHandoff(claims.jti, jtiExpiresAt, claims.sid, link);
 */
export function verifyHandoffClaims(payload: Record<string, unknown>, rules: HandoffClaimRules): VerifiedHandoff {
  const tolerance = clockToleranceOption(rules.clockToleranceSeconds);
  const maxLifetime = lifetimeOption('"maxLifetimeSeconds"', rules.maxLifetimeSeconds, HANDOFF_MAX_TTL_SECONDS, HANDOFF_MAX_TTL_SECONDS);

  checkIssuer(payload, rules.issuer, HANDOFF_CODES);
  checkAudience(payload, rules.audience, HANDOFF_CODES);
  if (payload.dst !== rules.destinationHost) throw new TesseraError('ERR_HANDOFF_DESTINATION', 'dst is not this site', { claim: 'dst' });
  const { src } = payload;
  if (typeof src !== 'string' || !rules.isKnownSource(src)) throw new TesseraError('ERR_HANDOFF_SOURCE', 'src is neither the hub nor a site', { claim: 'src' });
  const { iat, exp } = checkTimes(payload, { now: nowSeconds(rules.clock), toleranceSeconds: tolerance, maxLifetimeSeconds: maxLifetime }, HANDOFF_CODES);
  const jti = checkJti(payload, HANDOFF_CODES);
  const { sid, sub } = checkSession(payload, HANDOFF_CODES);

  const identity: Record<string, unknown> = {};
  for (const name in payload) {
    // Assigning "__proto__" would set the object's prototype instead of adding a member.
    if (!REGISTERED_CLAIMS.has(name) && name !== '__proto__') identity[name] = payload[name];
  }
  const claims: HandoffClaims = { iss: rules.issuer, aud: rules.audience, sid, src, dst: rules.destinationHost, iat, exp, jti };
  if (sub !== undefined) claims.sub = sub;
  return { claims, identity, jtiExpiresAt: exp + tolerance };
}
