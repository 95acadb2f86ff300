/**
 * `POST /api/v1/admin/users/:id/delete`: delete a user (src/hub/revocation/delete-user.ts):
 * every session ends everywhere (reason `user-deleted`), then the record goes, then its owner
 * is told by e-mail.
 */
import type { Context } from 'koa';
import { TesseraError } from '../../../core/errors';
import { deleteUser } from '../../revocation/delete-user';
import type { RouteFactory } from '../../route';
import { recordAdminAction } from '../audit-action';
import { notifyAccountDeleted } from '../notify';
import { requireAdminScope, tokenActor } from './auth';
import { pathParam } from './input';

export const adminApiUserDelete: RouteFactory = (deps) => ({
  name: 'admin-api-user-delete',
  method: 'POST',
  kind: 'plain',
  path: '/api/v1/admin/users/:id/delete',
  middleware: [
    requireAdminScope(deps, 'users:write'),
    async function removeUser(ctx: Context) {
      const found = await deps.users.findById(pathParam(ctx, 'id'));
      if (found === null) throw new TesseraError('ERR_USER_NOT_FOUND', 'No such user');
      const actor = tokenActor(ctx);
      const { endedSessions, removed } = await deleteUser(deps, found, actor);
      if (removed !== null) notifyAccountDeleted(deps, ctx, removed);
      await recordAdminAction(deps.audit, ctx, actor, 'user.delete', found.id, found.id);
      ctx.body = { deleted: found.id, endedSessions };
    },
  ],
});
