/**
 * A link report's proof kept in the site session (`tessera.linkProof`, with its `exp` as
 * `tessera.linkProofExp`) while the hub has not answered the report (link-report.ts). Until it
 * does, the hub does not know this site holds the session: it mints no beacons for it and its
 * status check answers "not active". So the proof is reported again before anything relies on
 * the link — `loader.js`, `beaconTags()`, `requireActiveSession()` — and dropped:
 * - once the hub answered a report of it made in a request, recorded or refused (a background
 *   retry that got through does not rewrite stored sessions, which could undo a concurrent
 *   request's change: the next report of the kept proof is a harmless repeat);
 * - once it is older than the hub's grace: the hub would refuse it, and it must not ride in the
 *   session for the session's whole life;
 * - with the whole session, when the hub answers that the session has ended (logout.ts,
 *   endInRequest): the request goes on without it.
 * It is never part of `ctx.state.tessera`.
 */
import type Koa from 'koa';
import { nowSeconds } from '../core/clock';
import type { DestinationDeps } from './deps';
import { LINK_PROOF_GRACE_SECONDS, type LinkReportOutcome } from './link-report';
import { endInRequest } from './logout';
import { sessionOf, type StoredTessera } from './session';

/** Keeps `proof`, which expires at `exp`, in this request's session (koa-session saves the change). */
export function keepLinkProof(ctx: Koa.Context, proof: string, exp: number): void {
  const stored = storedTessera(ctx);
  if (stored === null) return;
  stored.linkProof = proof;
  stored.linkProofExp = exp;
}

/** Drops a kept proof from this request's session. */
export function dropLinkProof(ctx: Koa.Context): void {
  const stored = storedTessera(ctx);
  if (stored === null) return;
  delete stored.linkProof;
  delete stored.linkProofExp;
}

/**
 * Reports the proof this request's session keeps for `sid`, if any, within the request timeout.
 * `none` when there was nothing to report (or it was past the grace, and is now dropped);
 * otherwise the outcome, the proof dropped unless `unreachable`; on `ended` the session ended
 * here too, `ctx.state.tessera` now null.
 */
export async function reportKeptProof(deps: DestinationDeps, ctx: Koa.Context, sid: string): Promise<LinkReportOutcome | 'none'> {
  const stored = storedTessera(ctx);
  const proof = stored?.linkProof;
  if (stored === null || typeof proof !== 'string' || !deps.hub.enabled) return 'none';
  const exp = stored.linkProofExp;
  // A proof kept by an SDK before linkProofExp existed has no exp: the hub judges it.
  if (typeof exp === 'number' && nowSeconds(deps.options.clock) >= exp + deps.options.clockToleranceSeconds + LINK_PROOF_GRACE_SECONDS) {
    dropLinkProof(ctx);
    deps.logger.info({ sid }, 'dropped a link proof past the hub\'s grace without reporting it');
    return 'none';
  }
  const outcome = await deps.links.attempt(sid, proof);
  if (outcome === 'unreachable') return outcome;
  if (outcome === 'ended') {
    await endInRequest(deps, ctx, sid);
    return outcome;
  }
  dropLinkProof(ctx);
  if (outcome === 'recorded') deps.beacons.forget(sid);
  return outcome;
}

function storedTessera(ctx: Koa.Context): StoredTessera | null {
  const tessera = (sessionOf(ctx) as { tessera?: unknown } | null | undefined)?.tessera;
  return typeof tessera === 'object' && tessera !== null ? (tessera as StoredTessera) : null;
}
