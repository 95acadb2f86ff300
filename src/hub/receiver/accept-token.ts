/**
 * What the hub does with a handoff token for a site whose receiver it is, whether the token came
 * in a beacon or back from a bounce. In this order, so a rejected token changes nothing:
 * 1. `verifyHandoff` with the hub's own keyring (no fetch), the configured algorithm, and this
 *    site as audience and destination; the jti is not recorded yet;
 * 2. for beacons, the Referer / Origin must name the token's `src` (`checkEmbeddingPage`);
 * 3. django-shared-session's replacement rule against the session the browser already holds
 *    here (`decideReplacement`);
 * 4. keep: only spend the jti (`ReplayStore.rememberOnce`), so the token stays single use;
 *    replace: spend the jti and write the site link in one store round trip
 *    (`SessionStore.acceptHandoff`, DESIGN.md "Storage"), then set the site cookie with a new
 *    per-site secret and announce `session_replaced`.
 * Rejections throw a TesseraError with the reason code; nothing here logs or echoes the token.
 */
import type { Context } from 'koa';
import type { Site } from '../../config/schema';
import { nowSeconds } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import { checkEmbeddingPage, decideReplacement } from '../../core/receiver/receiver';
import { hashSecret, newSecret } from '../../core/sessions/session';
import { verifyHandoff, type HandoffClaims } from '../../core/tokens/handoff';
import type { HubDeps } from '../deps';
import { siteRegistry } from '../handoff/sites';
import { recordAudit } from '../audit/record';
import { readSiteSession, writeSiteCookie } from './site-cookie';

/** How the token arrived: embedded in a page (beacon) or by top-level navigation (bounce). */
export type HandoffVia = 'beacon' | 'bounce';

export interface AcceptedHandoff {
  claims: HandoffClaims;
  /** `replaced`: the site cookie was set; `kept`: the browser's session here was left alone. */
  outcome: 'replaced' | 'kept';
}

/** {@link acceptOrReject}, with the outcome in the audit log (site, reason code; never the token). */
export async function acceptToken(deps: HubDeps, ctx: Context, site: Site, token: string, via: HandoffVia): Promise<AcceptedHandoff> {
  try {
    const accepted = await acceptOrReject(deps, ctx, site, token, via);
    const { claims } = accepted;
    recordAudit(deps.audit, ctx.state.log, { type: 'handoff.accepted', actor: `site:${site.origin}`, userId: claims.sub ?? null, sid: claims.sid, site: site.origin, ip: ctx.ip || null, details: { via, src: claims.src, outcome: accepted.outcome } });
    return accepted;
  } catch (err) {
    const e = err as { code?: unknown; status?: unknown };
    if (typeof e.code === 'string' && typeof e.status === 'number' && e.status < 500) {
      recordAudit(deps.audit, ctx.state.log, { type: 'handoff.rejected', actor: `site:${site.origin}`, site: site.origin, ip: ctx.ip || null, reason: e.code, details: { via } });
    }
    throw err;
  }
}

async function acceptOrReject(deps: HubDeps, ctx: Context, site: Site, token: string, via: HandoffVia): Promise<AcceptedHandoff> {
  const { config } = deps;
  const registry = siteRegistry(config);
  const { claims, jtiExpiresAt } = await verifyHandoff(token, {
    keys: (kid) => deps.keyring.verificationKey(kid),
    algorithms: [config.tokens.algorithm],
    issuer: config.publicUrl,
    audience: site.origin,
    destinationHost: new URL(site.origin).host,
    isKnownSource: (host) => registry.isKnownSource(host),
    clock: deps.clock,
    clockToleranceSeconds: config.tokens.clockToleranceSeconds,
    maxTokenBytes: config.tokens.maxTokenBytes,
  });
  if (via === 'beacon') {
    checkEmbeddingPage({ referer: ctx.get('Referer') || undefined, origin: ctx.get('Origin') || undefined }, claims.src, config.handoff.strictReferer);
  }

  const existing = await readSiteSession(deps, site, ctx);
  const decision = decideReplacement(existing && { sid: existing.sid, live: existing.current !== null }, claims.sid, config.alwaysReplace);
  if (decision.action === 'keep') {
    if (!(await deps.replay.rememberOnce(claims.jti, jtiExpiresAt, claims.sid))) throw replayed();
    return { claims, outcome: 'kept' };
  }

  const secret = newSecret();
  const now = nowSeconds(deps.clock);
  const outcome = await deps.sessions.acceptHandoff(claims.jti, jtiExpiresAt, claims.sid, {
    site: site.origin,
    linkedAt: now,
    src: claims.src,
    secretHash: hashSecret(secret),
    projectionKey: null,
  });
  if (outcome === 'replayed') throw replayed();
  // A revoked session's tokens must not outlive it: the jti is spent, no link, no cookie.
  if (outcome === 'unknown-session') throw new TesseraError('ERR_HANDOFF_SESSION_ENDED', 'the session has ended', { claim: 'sid' });
  writeSiteCookie(ctx, site, claims.sid, secret);
  deps.events.emit({ type: 'session_replaced', site: site.origin, src: claims.src, sid: claims.sid, wasEmpty: decision.wasEmpty, at: now });
  return { claims, outcome: 'replaced' };
}

function replayed(): TesseraError {
  return new TesseraError('ERR_HANDOFF_REPLAYED', 'jti already used', { claim: 'jti' });
}
