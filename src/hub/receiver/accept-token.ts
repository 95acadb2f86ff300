/**
 * What the hub does with a handoff token for a site whose receiver it is, whether the token came
 * in a beacon or back from a bounce. In this order, so a rejected token changes nothing:
 * 1. `verifyHandoff` with the hub's own keyring (no fetch), the configured algorithm, and this
 *    site as audience and destination (`verifyOptions`); the jti is not recorded yet;
 * 2. for beacons, the Referer / Origin must name the token's `src` (`checkEmbeddingPage`);
 * 3. django-shared-session's replacement rule against the session the browser already holds
 *    here (`decideReplacement`);
 * 4. keep: only spend the jti (`ReplayStore.rememberOnce`), so the token stays single use;
 *    replace: spend the jti and write the site link in one store round trip
 *    (`SessionStore.acceptHandoff`, DESIGN.md "Storage"), then set the site cookie with a new
 *    per-site secret and announce `session_replaced`. For a site with a projection, the
 *    projection under the new cookie value is written first (src/hub/projection/projections.ts):
 *    a second round trip, since the key lives outside the session's hash slot, and the reason a
 *    store failure there leaves nothing set (503).
 * Rejections throw a TesseraError with the reason code; nothing here logs or echoes the token.
 */
import type { Context } from 'koa';
import type { Site } from '../../config/schema';
import { nowSeconds } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import { checkEmbeddingPage, decideReplacement } from '../../core/receiver/receiver';
import { hashSecret, newSecret } from '../../core/sessions/session';
import { verifyHandoff, type HandoffClaims, type HandoffVerifyOptions } from '../../core/tokens/handoff';
import type { HubDeps } from '../deps';
import { siteRegistry } from '../handoff/sites';
import { recordAudit } from '../audit/record';
import { readSiteSession, siteCookieValue, writeSiteCookie, type SiteSession } from './site-cookie';
import { holderOf, identityClaims } from '../handoff/mint';
import { deleteProjectionsBestEffort, isProjected, noteOutcome, projectionStore, projectionWrite, type ProjectedSite } from '../projection/projections';
import type { AcceptOutcome, SessionRecord } from '../../ports';

/** How the token arrived: embedded in a page (beacon) or by top-level navigation (bounce). */
export type HandoffVia = 'beacon' | 'bounce';

export interface AcceptedHandoff {
  claims: HandoffClaims;
  /** `replaced`: the site cookie was set; `kept`: the browser's session here was left alone. */
  outcome: 'replaced' | 'kept';
}

/** What accepts a token for a site: {@link tokenAcceptor}. */
export type AcceptToken = (ctx: Context, site: Site, token: string, via: HandoffVia) => Promise<AcceptedHandoff>;

/**
 * {@link acceptOrReject}, with the outcome counted in `tessera_handoffs_total` and written to the
 * audit log (site, reason code; never the token). A store failure (503) counts as a rejection
 * with its code too: the site did not get the session. Each site's verification options are
 * built once, on its first token, rather than on every accept.
 */
export function tokenAcceptor(deps: HubDeps): AcceptToken {
  const optionsBySite = new Map<Site, HandoffVerifyOptions>();
  const optionsFor = (site: Site): HandoffVerifyOptions => {
    let options = optionsBySite.get(site);
    if (options === undefined) {
      options = verifyOptions(deps, site);
      optionsBySite.set(site, options);
    }
    return options;
  };
  return (ctx, site, token, via) => acceptToken(deps, optionsFor(site), ctx, site, token, via);
}

/**
 * How a token for `site` is verified: this site as audience and destination, the hub's own
 * keyring (no fetch), the configured algorithm; no `rememberJti`, the jti is recorded with the
 * site link (`acceptOrReject`). The site API's link proof checks with the same rules
 * (src/hub/site-api/link-proof.ts).
 */
export function verifyOptions(deps: HubDeps, site: Site): HandoffVerifyOptions {
  const { config } = deps;
  const registry = siteRegistry(config);
  return {
    keys: (kid) => deps.keyring.verificationKey(kid),
    algorithms: [config.tokens.algorithm],
    issuer: config.publicUrl,
    audience: site.origin,
    destinationHost: new URL(site.origin).host,
    isKnownSource: (host) => registry.isKnownSource(host),
    clock: deps.clock,
    clockToleranceSeconds: config.tokens.clockToleranceSeconds,
    maxTokenBytes: config.tokens.maxTokenBytes,
  };
}

async function acceptToken(deps: HubDeps, options: HandoffVerifyOptions, ctx: Context, site: Site, token: string, via: HandoffVia): Promise<AcceptedHandoff> {
  try {
    const accepted = await acceptOrReject(deps, options, ctx, site, token, via);
    const { claims } = accepted;
    deps.metrics.countHandoff(site.origin, 'accepted');
    recordAudit(deps.audit, () => ctx.state.log, { type: 'handoff.accepted', actor: `site:${site.origin}`, userId: claims.sub ?? null, sid: claims.sid, site: site.origin, ip: ctx.ip || null, details: { via, src: claims.src, outcome: accepted.outcome } });
    return accepted;
  } catch (err) {
    const e = err as { code?: unknown; status?: unknown };
    deps.metrics.countHandoff(site.origin, 'rejected', typeof e.code === 'string' ? e.code : 'ERR_INTERNAL');
    if (typeof e.code === 'string' && typeof e.status === 'number' && e.status < 500) {
      recordAudit(deps.audit, () => ctx.state.log, { type: 'handoff.rejected', actor: `site:${site.origin}`, site: site.origin, ip: ctx.ip || null, reason: e.code, details: { via } });
    }
    throw err;
  }
}

async function acceptOrReject(deps: HubDeps, options: HandoffVerifyOptions, ctx: Context, site: Site, token: string, via: HandoffVia): Promise<AcceptedHandoff> {
  const { config } = deps;
  const { claims, identity, jtiExpiresAt } = await verifyHandoff(token, options);
  if (via === 'beacon') {
    checkEmbeddingPage({ referer: ctx.get('Referer') || undefined, origin: ctx.get('Origin') || undefined }, claims.src, config.handoff.strictReferer);
  }

  // A projection needs the session's times (its expiry, `created_at`): read in the same batch as
  // the browser's current site session, so it costs no round trip of its own.
  const [existing, session] = await Promise.all([readSiteSession(deps, site, ctx), isProjected(site) ? deps.sessions.get(claims.sid) : null]);
  const decision = decideReplacement(existing && { sid: existing.sid, live: existing.current !== null }, claims.sid, config.alwaysReplace);
  if (decision.action === 'keep') {
    if (!(await deps.replay.rememberOnce(claims.jti, jtiExpiresAt, claims.sid))) throw replayed();
    if (isProjected(site)) await restoreProjection(deps, site, existing!.current!);
    return { claims, outcome: 'kept' };
  }

  const secret = newSecret();
  const cookieValue = siteCookieValue(site, claims.sid, secret);
  const now = nowSeconds(deps.clock);
  const projectionKey = isProjected(site) && session !== null ? await writeFirstProjection(deps, site, cookieValue, session, identity) : null;
  let outcome: AcceptOutcome;
  try {
    outcome = await deps.sessions.acceptHandoff(claims.jti, jtiExpiresAt, claims.sid, {
      site: site.origin,
      linkedAt: now,
      src: claims.src,
      secretHash: hashSecret(secret),
      projectionKey,
    });
  } catch (err) {
    if (projectionKey !== null) await deleteProjectionsBestEffort(deps, [projectionKey]);
    throw err;
  }
  // Written for a token that did not pass, or for a session that ended meanwhile: no cookie will
  // name it, and it must not outlive the refusal.
  if (outcome !== 'accepted' && projectionKey !== null) await deleteProjectionsBestEffort(deps, [projectionKey]);
  if (outcome === 'replayed') throw replayed();
  // A revoked session's tokens must not outlive it: the jti is spent, no link, no cookie.
  if (outcome === 'unknown-session') throw new TesseraError('ERR_HANDOFF_SESSION_ENDED', 'the session has ended', { claim: 'sid' });
  // The replaced link named the projection of an earlier cookie: no link names it now, so no
  // revocation would find it, and the application would go on honouring that cookie.
  const superseded = session?.sites.find((link) => link.site === site.origin)?.projectionKey ?? null;
  if (superseded !== null && superseded !== projectionKey) await deleteProjectionsBestEffort(deps, [superseded]);
  writeSiteCookie(ctx, site, cookieValue);
  deps.events.emit({ type: 'session_replaced', site: site.origin, src: claims.src, sid: claims.sid, wasEmpty: decision.wasEmpty, at: now });
  return { claims, outcome: 'replaced' };
}

/**
 * The projection for a new site cookie, written before the handoff is recorded and the cookie
 * set: a failure (503) leaves no cookie, no link and the jti unspent, so the browser may retry.
 * The key is new (it holds a fresh secret), so there is nothing of the application's to merge.
 * Returns the key for the site link, where revocation finds it.
 */
async function writeFirstProjection(deps: HubDeps, site: ProjectedSite, cookieValue: string, session: SessionRecord, identity: Record<string, unknown>): Promise<string> {
  const key = `${site.projection.keyPrefix}${cookieValue}`;
  const allowed = Object.fromEntries(Object.entries(identity).filter(([claim]) => (site.claims as readonly string[]).includes(claim)));
  await projectionStore(deps).write(projectionWrite(deps, site, key, session, allowed));
  return key;
}

/**
 * A handoff that finds the browser already holding a live session here, typically a bounce the
 * application started because it saw no one signed in: its projection may be gone (the
 * application destroyed its session, or PHP's own TTL ran out). Write it again under the cookie
 * the browser holds. Best effort: the token is spent and the cookie stays either way.
 */
async function restoreProjection(deps: HubDeps, site: ProjectedSite, current: NonNullable<SiteSession['current']>): Promise<void> {
  const key = current.link.projectionKey;
  if (key === null) return;
  try {
    const holder = await holderOf(deps, current.record);
    if (holder === null) return;
    noteOutcome(deps, site, current.record.sid, await projectionStore(deps).write(projectionWrite(deps, site, key, current.record, identityClaims(site, holder.user))));
  } catch (err) {
    deps.logger.warn({ err, event: 'projection', result: 'restore_failed', site: site.origin, sid: current.record.sid }, 'writing a projection again failed');
  }
}

function replayed(): TesseraError {
  return new TesseraError('ERR_HANDOFF_REPLAYED', 'jti already used', { claim: 'jti' });
}
