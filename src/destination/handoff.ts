/**
 * Taking a handoff token on this site, for beacons and the bounce's `accept` alike:
 *
 * 1. the core verifier: size, header, signature through the hub's JWKS, iss, aud, dst, src,
 *    times (src/core/tokens/handoff.ts) — the same checks the hub's own receiver makes — and then
 *    jsonwebtoken on the same token and key: a second, independent implementation of the
 *    signature, iss, aud and exp checks (the hub skips it on its hot path, bench/README.md);
 * 2. for a beacon, the embedding page: a Referer or Origin must name the token's src (strict: one
 *    is required). Not for the bounce's `accept`: the hub's pages send no referrer, so its form
 *    arrives with `Origin: null` and its redirect with neither, and the state cookie is what
 *    ties that token to this browser (as at the hub's own receiver);
 * 3. the jti, recorded atomically and only now, after everything else passed, so a token
 *    refused for any reason above spends nothing;
 *    Then a token for a hub session this site was told has ended (logout.ts) is refused: the jti
 *    is spent all the same, as at the hub's receiver;
 * 4. django-shared-session's replacement rule (decideReplacement): the same sid is left alone,
 *    another live sid replaced only with `alwaysReplace`, a missing one replaced. The jti is
 *    spent in every case: a token is single-use whatever it changed.
 * 5. when this browser is to hold the token's sid, the hub is told, with the token as proof
 *    (link-report.ts), before the session is written and the request answers; a report that did
 *    not reach the hub keeps the token in the session, to be reported again (kept-proof.ts). When
 *    the hub answers that the session has ended (revoked before the link reached it, so no
 *    back-channel logout comes here), the token is refused (`ERR_HANDOFF_SESSION_ENDED`), the
 *    session is not set, and it ends here as a logout would (logout.ts).
 */
import jwt from 'jsonwebtoken';
import type Koa from 'koa';
import { nowSeconds } from '../core/clock';
import { TesseraError } from '../core/errors';
import { checkEmbeddingPage, decideReplacement } from '../core/receiver/receiver';
import { verifyHandoff, type VerifiedHandoffToken } from '../core/tokens/handoff';
import type { DestinationDeps } from './deps';
import { dropLinkProof, keepLinkProof } from './kept-proof';
import { endInRequest } from './logout';
import { sessionOf, tesseraFromSession, type StoredTessera } from './session';

/** The request headers that name the page a token came from. */
export interface EmbeddingPage {
  referer?: string | undefined;
  origin?: string | undefined;
}

/**
 * Steps 1 to 3; `page` null for a bounce's `accept` (no embedding page to check). Every
 * rejection is a {@link TesseraError} with an `ERR_HANDOFF_*` code (`ERR_HUB_UNAVAILABLE` when
 * the JWKS cannot be fetched, `ERR_STORE_UNAVAILABLE` when the jti cache is down).
 */
export async function verifyForSite(deps: DestinationDeps, token: unknown, page: EmbeddingPage | null): Promise<VerifiedHandoffToken> {
  const verified = await verifyHandoff(token, deps.verification);
  await crossCheckWithJsonwebtoken(deps, token as string, verified);
  if (page !== null) checkEmbeddingPage({ referer: page.referer, origin: page.origin }, verified.claims.src, deps.options.strictReferer);
  if (!(await deps.replay.rememberOnce(verified.claims.jti, verified.jtiExpiresAt, verified.claims.sid))) {
    throw new TesseraError('ERR_HANDOFF_REPLAYED', 'jti already used', { claim: 'jti' });
  }
  if (await deps.ended.has(verified.claims.sid)) throw new TesseraError('ERR_HANDOFF_SESSION_ENDED', 'the session has ended', { claim: 'sid' });
  return verified;
}

/** jsonwebtoken's verdict on a token the core verifier accepted; a disagreement is a rejection. */
async function crossCheckWithJsonwebtoken(deps: DestinationDeps, token: string, verified: VerifiedHandoffToken): Promise<void> {
  const rules = deps.verification;
  const key = await rules.keys(verified.kid);
  if (key === null) throw new TesseraError('ERR_HANDOFF_KID_UNKNOWN', 'no published key for this kid');
  try {
    jwt.verify(token, key.publicKey, {
      algorithms: [key.alg],
      issuer: rules.issuer,
      audience: rules.audience,
      clockTolerance: rules.clockToleranceSeconds ?? 5,
      clockTimestamp: nowSeconds(rules.clock),
    });
  } catch (cause) {
    throw new TesseraError('ERR_HANDOFF_SIGNATURE', 'jsonwebtoken refused a token the core accepted', { cause });
  }
}

/** The refusal of a token whose session the hub answered a link report has ended. */
export function sessionEndedAtHub(): TesseraError {
  return new TesseraError('ERR_HANDOFF_SESSION_ENDED', 'the hub answered the link report: the session has ended', { claim: 'sid' });
}

/**
 * Steps 4 and 5 on a Koa request that went through the session middleware, for `token`, which
 * verified as `verified`. Emits `session_replaced` when the session was set. Updates
 * `ctx.state.tessera`. Rejects with `ERR_HANDOFF_SESSION_ENDED` when the hub answers that the
 * session has ended.
 */
export async function takeSession(deps: DestinationDeps, ctx: Koa.Context, verified: VerifiedHandoffToken, token: string): Promise<void> {
  const { claims } = verified;
  const existing = tesseraFromSession(sessionOf(ctx));
  const decision = decideReplacement(existing === null ? null : { sid: existing.sid, live: true }, claims.sid, deps.options.alwaysReplace);
  // The hub mints beacons only for sites lacking the session: a token for the sid this browser
  // already holds means the hub has no link for it yet, so it is reported again.
  const holds = decision.action === 'replace' || existing?.sid === claims.sid;
  const report = holds ? await deps.links.report(claims.sid, token) : 'none';
  if (report === 'ended') {
    await endInRequest(deps, ctx, claims.sid);
    throw sessionEndedAtHub();
  }
  if (decision.action === 'replace') {
    const now = nowSeconds(deps.options.clock);
    await writeSession(ctx, { sid: claims.sid, sub: claims.sub ?? null, claims: verified.identity, src: claims.src, receivedAt: now }, decision.wasEmpty);
    deps.emit({ type: 'session_replaced', site: deps.options.siteOrigin, src: claims.src, sid: claims.sid, wasEmpty: decision.wasEmpty, at: now });
    deps.logger.debug({ sid: claims.sid, src: claims.src, wasEmpty: decision.wasEmpty }, 'site session set from a handoff');
  }
  // A settled report makes any proof kept before pointless; an unsettled one is kept instead.
  if (report === 'unreachable') keepLinkProof(ctx, token, claims.exp);
  else if (holds) dropLinkProof(ctx);
  ctx.state.tessera = tesseraFromSession(sessionOf(ctx));
}

/**
 * Puts `tessera` into the session. A session that came from the store gets a new key (no
 * fixation: a key someone planted in this browser never carries the new identity); its own
 * data stays when it held no shared session (an anonymous basket follows the visitor, as at
 * the hub) and goes when another session's identity is being replaced.
 *
 * regenerate() saves at once and koa-session saves again at the end of the request: two store
 * writes, on this rare path only. A fresh session is written once.
 */
async function writeSession(ctx: Koa.Context, tessera: StoredTessera, wasEmpty: boolean): Promise<void> {
  const session = sessionOf(ctx);
  if (session === null) throw new TesseraError('ERR_INTERNAL', 'ctx.session was set to null before the receiver ran');
  const previous = session.toJSON();
  for (const member of Object.keys(previous)) delete session[member];
  if (wasEmpty) Object.assign(session, previous);
  session.tessera = tessera;
  if (!session.isNew) await session.regenerate();
}
