/**
 * `POST /admin/users/:id/two-step/reset` (destructive: re-authentication applies): turns a
 * user's two-step sign-in off, as the admin API's route of the same name does.
 */
import type { Context } from 'koa';
import { TesseraError } from '../../../core/errors';
import type { RouteFactory } from '../../route';
import { pathParam } from '../api/input';
import { resetTwoStep } from '../two-step-reset';
import { adminActor } from './guard';
import { adminPost } from './shared';

export const adminUserTwoStepReset: RouteFactory = (deps) => ({
  name: 'admin-user-two-step-reset',
  method: 'POST',
  kind: 'page',
  path: '/admin/users/:id/two-step/reset',
  middleware: [
    ...adminPost(deps, true),
    async function turnTwoStepOff(ctx: Context) {
      const found = await deps.users.findById(pathParam(ctx, 'id'));
      if (found === null) throw new TesseraError('ERR_USER_NOT_FOUND', 'No such user.');
      await resetTwoStep(deps, ctx, found, adminActor(ctx));
      ctx.status = 303;
      ctx.redirect('/admin/users?done=two-step-reset');
    },
  ],
});
