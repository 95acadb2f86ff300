/** `POST /api/v1/admin/users/:id/sessions/revoke`: ends every session of one user, reason `admin`. */
import type { Context } from 'koa';
import { TesseraError } from '../../../core/errors';
import { revokeUserSessions } from '../../revocation/revoke';
import type { RouteFactory } from '../../route';
import { recordAdminAction } from '../audit-action';
import { notifySessionsEnded } from '../notify';
import { requireAdminScope, tokenActor } from './auth';
import { pathParam } from './input';

export const adminApiUserSessionsRevoke: RouteFactory = (deps) => ({
  name: 'admin-api-user-sessions-revoke',
  method: 'POST',
  kind: 'plain',
  path: '/api/v1/admin/users/:id/sessions/revoke',
  middleware: [
    requireAdminScope(deps, 'sessions:revoke'),
    async function revokeAllOfUser(ctx: Context) {
      const user = await deps.users.findById(pathParam(ctx, 'id'));
      if (user === null) throw new TesseraError('ERR_USER_NOT_FOUND', 'No such user');
      const actor = tokenActor(ctx);
      const ended = await revokeUserSessions(deps, user.id, 'admin', actor);
      await recordAdminAction(deps.audit, ctx, actor, 'user.sessions.revoke', user.id, user.id);
      notifySessionsEnded(deps, ctx, user.id, 'all');
      ctx.body = { revoked: ended.map((s) => s.sid) };
    },
  ],
});
