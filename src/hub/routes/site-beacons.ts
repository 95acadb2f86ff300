/**
 * `POST /api/v1/sites/beacons` (site API, bearer credential): an SDK site's `loader.js` asks for
 * the beacons its page should embed for the visitor's session `{"sid": "…"}`. The answer is one
 * beacon per *other* site that does not hold the session yet, each with a token whose `src` is
 * the calling site's host (its page embeds them). Only for a session the calling site holds (a
 * site link, src/hub/site-api/held-session.ts): an unknown or ended sid, and a session held only
 * by other sites, get an empty list, like a session every site holds. So the API neither says
 * which sids are live nor hands a site tokens for a session it never received.
 */
import type { Context } from 'koa';
import { TesseraError } from '../../core/errors';
import { isSessionId } from '../../core/sessions/session';
import { holderOf, mintBeacons, sitesLacking } from '../handoff/mint';
import { formField } from '../middleware/body';
import { requireSiteCredential } from '../middleware/site-credential';
import type { RouteFactory } from '../route';
import { sessionHeldBy } from '../site-api/held-session';

export const siteBeacons: RouteFactory = (deps) => ({
  name: 'site-beacons',
  method: 'POST',
  kind: 'plain',
  path: '/api/v1/sites/beacons',
  middleware: [
    requireSiteCredential(deps.config.sites),
    async function listBeacons(ctx: Context) {
      const site = ctx.state.callingSite;
      const sid = formField(ctx, 'sid');
      if (!isSessionId(sid)) throw new TesseraError('ERR_BAD_REQUEST', 'sid must be a session id');
      const record = await sessionHeldBy(deps, site, sid);
      const lacking = record === null ? [] : sitesLacking(deps, record, site);
      const holder = lacking.length === 0 ? null : await holderOf(deps, record!);
      const beacons = holder === null ? [] : await mintBeacons(deps, lacking, holder, new URL(site.origin).host);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { beacons };
    },
  ],
});
