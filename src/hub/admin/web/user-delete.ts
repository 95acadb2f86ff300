/**
 * `POST /admin/users/:id/delete` (destructive: re-authentication applies): delete a user
 * (src/hub/revocation/delete-user.ts), then tell its owner by e-mail. An admin cannot delete their own account here: that
 * would end the session they act from; `tessera users delete` can.
 */
import type { Context } from 'koa';
import { TesseraError } from '../../../core/errors';
import { deleteUser } from '../../revocation/delete-user';
import type { RouteFactory } from '../../route';
import { pathParam } from '../api/input';
import { recordAdminAction } from '../audit-action';
import { notifyAccountDeleted } from '../notify';
import { adminActor } from './guard';
import { adminPost } from './shared';

export const adminUserDelete: RouteFactory = (deps) => ({
  name: 'admin-user-delete',
  method: 'POST',
  kind: 'page',
  path: '/admin/users/:id/delete',
  middleware: [
    ...adminPost(deps, true),
    async function removeUser(ctx: Context) {
      const found = await deps.users.findById(pathParam(ctx, 'id'));
      if (found === null) throw new TesseraError('ERR_USER_NOT_FOUND', 'No such user.');
      if (found.id === ctx.state.session.user!.id) throw new TesseraError('ERR_FORBIDDEN', 'You cannot delete your own account here.');
      const actor = adminActor(ctx);
      const { removed } = await deleteUser(deps, found, actor);
      if (removed !== null) notifyAccountDeleted(deps, ctx, removed);
      await recordAdminAction(deps.audit, ctx, actor, 'user.delete', found.id, found.id);
      ctx.status = 303;
      ctx.redirect('/admin/users?done=deleted');
    },
  ],
});
