/**
 * `POST /api/v1/sites/logout` (site API, bearer credential): a visitor signed out on an SDK site
 * (`POST <prefix>logout` there), so the site asks the hub to end session `{"sid": "…"}`
 * everywhere: reason `site-logout`, actor `site:<origin>`. Only a session the calling site holds
 * (it has a site link, src/hub/site-api/held-session.ts) can be ended this way, so one site's
 * credential cannot end sessions it never saw. 204 either way when the sid is well-formed: a
 * session already gone is signed out, and one held only elsewhere answers the same.
 */
import type { Context } from 'koa';
import { TesseraError } from '../../core/errors';
import { isSessionId } from '../../core/sessions/session';
import { formField } from '../middleware/body';
import { requireSiteCredential } from '../middleware/site-credential';
import { revokeSession } from '../revocation/revoke';
import type { RouteFactory } from '../route';
import { sessionHeldBy } from '../site-api/held-session';

export const siteLogout: RouteFactory = (deps) => ({
  name: 'site-logout',
  method: 'POST',
  kind: 'plain',
  path: '/api/v1/sites/logout',
  middleware: [
    requireSiteCredential(deps.config.sites),
    async function endSiteSession(ctx: Context) {
      const site = ctx.state.callingSite;
      const sid = formField(ctx, 'sid');
      if (!isSessionId(sid)) throw new TesseraError('ERR_BAD_REQUEST', 'sid must be a session id');
      if ((await sessionHeldBy(deps, site, sid)) !== null) await revokeSession(deps, sid, 'site-logout', `site:${site.origin}`);
      ctx.status = 204;
    },
  ],
});
