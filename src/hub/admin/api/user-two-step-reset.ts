/**
 * `POST /api/v1/admin/users/:id/two-step/reset`: turns a user's two-step sign-in off (they lost
 * their phone and their recovery codes): secret and recovery codes are forgotten, their sessions
 * stay. Audited as `user.updated` (`change: two-step-reset`) and as an `admin.action`; the user
 * is told by e-mail.
 */
import type { Context } from 'koa';
import { TesseraError } from '../../../core/errors';
import type { RouteFactory } from '../../route';
import { recordAdminAction } from '../audit-action';
import { notifyTwoStepReset } from '../notify';
import { userJson } from '../present';
import { requireAdminScope, tokenActor } from './auth';
import { pathParam } from './input';

export const adminApiUserTwoStepReset: RouteFactory = (deps) => ({
  name: 'admin-api-user-two-step-reset',
  method: 'POST',
  kind: 'plain',
  path: '/api/v1/admin/users/:id/two-step/reset',
  middleware: [
    requireAdminScope(deps, 'users:write'),
    async function resetTwoStep(ctx: Context) {
      const found = await deps.users.findById(pathParam(ctx, 'id'));
      if (found === null) throw new TesseraError('ERR_USER_NOT_FOUND', 'No such user');
      const actor = tokenActor(ctx);
      const user = await deps.users.setTotp(found.id, null);
      await deps.audit.append({ type: 'user.updated', actor, userId: user.id, ip: ctx.ip || null, details: { change: 'two-step-reset' } });
      notifyTwoStepReset(deps, ctx, found);
      await recordAdminAction(deps.audit, ctx, actor, 'user.two-step-reset', user.id, user.id);
      ctx.body = { user: userJson(user) };
    },
  ],
});
