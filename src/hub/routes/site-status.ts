/**
 * `POST /api/v1/sites/status` (site API, bearer credential): is session `{"sid": "…"}` still
 * active? → `{"active": true|false}`. Lets an SDK site that missed a back-channel logout (or
 * wants certainty on a sensitive route) refuse a revoked session; the SDK caches the answer
 * briefly (`statusCheck.cacheSeconds`). The answer says nothing else about the session, and a
 * malformed sid is simply not active. Active means live *and held by the calling site*
 * (src/hub/site-api/held-session.ts): a session held only by other sites answers exactly like
 * an unknown sid, so no site can probe which sids are live elsewhere.
 */
import type { Context } from 'koa';
import { isSessionId } from '../../core/sessions/session';
import { formField } from '../middleware/body';
import { requireSiteCredential } from '../middleware/site-credential';
import type { RouteFactory } from '../route';
import { sessionHeldBy } from '../site-api/held-session';

export const siteStatus: RouteFactory = (deps) => ({
  name: 'site-status',
  method: 'POST',
  kind: 'plain',
  path: '/api/v1/sites/status',
  middleware: [
    requireSiteCredential(deps.config.sites),
    async function answerStatus(ctx: Context) {
      const sid = formField(ctx, 'sid');
      const active = isSessionId(sid) && (await sessionHeldBy(deps, ctx.state.callingSite, sid)) !== null;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { active };
    },
  ],
});
