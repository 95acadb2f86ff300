/**
 * `POST /api/v1/sites/links` (site API, bearer credential): an SDK site reports that it now holds
 * session `{"sid": "…"}` (it accepted a token and set its own cookie). The hub records the site
 * link, so beacons stop being minted for that site and the account page lists it. The hub did
 * not set this site's cookie, so the link carries no secret hash.
 */
import type { Context } from 'koa';
import { nowSeconds } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import { isSessionId } from '../../core/sessions/session';
import { formField } from '../middleware/body';
import { requireSiteCredential } from '../middleware/site-credential';
import type { RouteFactory } from '../route';

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
      const linked = await deps.sessions.linkSite(sid, { site: site.origin, linkedAt: nowSeconds(deps.clock), src: new URL(site.origin).host, secretHash: null, projectionKey: null });
      if (!linked) throw new TesseraError('ERR_NOT_FOUND', 'No such session');
      ctx.state.log.info({ event: 'site_link', site: site.origin, sid }, 'site reported the session');
      ctx.status = 204;
    },
  ],
});
