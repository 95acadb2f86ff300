/** `POST /admin/users/:id/sessions/revoke`: ends every session of a user on every site (reason `admin`). */
import type { Context } from 'koa';
import { TesseraError } from '../../../core/errors';
import { revokeUserSessions } from '../../revocation/revoke';
import type { RouteFactory } from '../../route';
import { pathParam } from '../api/input';
import { recordAdminAction } from '../audit-action';
import { notifySessionsEnded } from '../notify';
import { adminActor } from './guard';
import { adminPost } from './shared';

export const adminUserSessionsRevoke: RouteFactory = (deps) => ({
  name: 'admin-user-sessions-revoke',
  method: 'POST',
  kind: 'page',
  path: '/admin/users/:id/sessions/revoke',
  middleware: [
    ...adminPost(deps, true),
    async function revokeAllOfUser(ctx: Context) {
      const user = await deps.users.findById(pathParam(ctx, 'id'));
      if (user === null) throw new TesseraError('ERR_USER_NOT_FOUND', 'No such user.');
      const actor = adminActor(ctx);
      await revokeUserSessions(deps, user.id, 'admin', actor);
      await recordAdminAction(deps.audit, ctx, actor, 'user.sessions.revoke', user.id, user.id);
      notifySessionsEnded(deps, ctx, user.id, 'all');
      ctx.status = 303;
      ctx.redirect('/admin?done=user-revoked');
    },
  ],
});
