/** `POST /admin/sessions/:sid/revoke`: ends one session on every site (reason `admin`). */
import type { Context } from 'koa';
import { TesseraError } from '../../../core/errors';
import { isSessionId } from '../../../core/sessions/session';
import { revokeSession } from '../../revocation/revoke';
import type { RouteFactory } from '../../route';
import { pathParam } from '../api/input';
import { recordAdminAction } from '../audit-action';
import { notifySessionsEnded } from '../notify';
import { adminActor } from './guard';
import { adminPost } from './shared';

export const adminSessionRevoke: RouteFactory = (deps) => ({
  name: 'admin-session-revoke',
  method: 'POST',
  kind: 'page',
  path: '/admin/sessions/:sid/revoke',
  middleware: [
    ...adminPost(deps, true),
    async function revokeOne(ctx: Context) {
      const sid = pathParam(ctx, 'sid');
      const actor = adminActor(ctx);
      const ended = isSessionId(sid) ? await revokeSession(deps, sid, 'admin', actor) : null;
      if (ended === null) throw new TesseraError('ERR_NOT_FOUND', 'No such session.');
      await recordAdminAction(deps.audit, ctx, actor, 'session.revoke', sid, ended.userId);
      notifySessionsEnded(deps, ctx, ended.userId, 'one');
      ctx.status = 303;
      ctx.redirect('/admin?done=revoked');
    },
  ],
});
