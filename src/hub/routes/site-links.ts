/**
 * `POST /api/v1/sites/links` (site API, bearer credential): an SDK site reports that it now holds
 * session `{"sid": "…", "token": "…"}`: it accepted that handoff token and set its own cookie.
 * The token is the proof (src/hub/site-api/link-proof.ts): addressed to the calling site, for
 * this sid, signed by the hub, expired at most a short grace ago. Then the hub records the site
 * link, so beacons stop being minted for that site, the account page lists it, and the site may
 * ask beacons, status and logout for the session. The hub did not set this site's cookie, so the
 * link carries no secret hash. The report is idempotent: the same proof may be sent again (a
 * retry after a 503 or a lost answer) and records the same link again. A link the hub itself
 * recorded as the site's receiver (with its cookie's secret hash or a projection) is kept as it is.
 *
 * 204 when recorded; 400 `ERR_LINK_PROOF` for a missing or bad proof (nothing written; the error
 * handler's one log line names the code, never the token); 404 `ERR_SESSION_ENDED` when the
 * session has ended; 503 when the store failed (nothing spent: retry with the same proof).
 */
import type { Context } from 'koa';
import { nowSeconds } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import { isSessionId } from '../../core/sessions/session';
import { formField } from '../middleware/body';
import { requireSiteCredential } from '../middleware/site-credential';
import type { RouteFactory } from '../route';
import { checkLinkProof } from '../site-api/link-proof';

export const siteLinks: RouteFactory = (deps) => ({
  name: 'site-links',
  method: 'POST',
  kind: 'plain',
  path: '/api/v1/sites/links',
  middleware: [
    requireSiteCredential(deps.config.sites),
    async function recordLink(ctx: Context) {
      const site = ctx.state.callingSite;
      const sid = formField(ctx, 'sid');
      if (!isSessionId(sid)) throw new TesseraError('ERR_BAD_REQUEST', 'sid must be a session id');
      const proof = await checkLinkProof(deps, site, sid, (ctx.request.body as { token?: unknown }).token);
      // A link the hub recorded as this site's receiver carries what its cookie and projection
      // need (secret hash, projection key): a report adds nothing to it, and replacing it would
      // sign the visitor out of the site and orphan the projection.
      const held = (await deps.sessions.get(sid))?.sites.find((link) => link.site === site.origin);
      if (held !== undefined && (held.secretHash !== null || held.projectionKey !== null)) {
        ctx.status = 204;
        return;
      }
      const linked = await deps.sessions.linkSite(sid, { site: site.origin, linkedAt: nowSeconds(deps.clock), src: proof.src, secretHash: null, projectionKey: null });
      // Its own code, not the router's ERR_NOT_FOUND: an SDK ends its session on this answer, and
      // must not on a 404 from a hub (or proxy) that lacks this route.
      if (!linked) throw new TesseraError('ERR_SESSION_ENDED', 'The session has ended', { status: 404 });
      ctx.state.log.info({ event: 'site_link', site: site.origin, sid, src: proof.src }, 'site reported the session');
      ctx.status = 204;
    },
  ],
});
