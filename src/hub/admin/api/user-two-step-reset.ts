/**
 * `POST /api/v1/admin/users/:id/two-step/reset`: turns a user's two-step sign-in off (they lost
 * their phone and their recovery codes): secret and recovery codes are forgotten, their sessions
 * stay (src/hub/admin/two-step-reset.ts).
 */
import type { Context } from 'koa';
import { TesseraError } from '../../../core/errors';
import type { RouteFactory } from '../../route';
import { userJson } from '../present';
import { resetTwoStep } from '../two-step-reset';
import { requireAdminScope, tokenActor } from './auth';
import { pathParam } from './input';

export const adminApiUserTwoStepReset: RouteFactory = (deps) => ({
  name: 'admin-api-user-two-step-reset',
  method: 'POST',
  kind: 'plain',
  path: '/api/v1/admin/users/:id/two-step/reset',
  middleware: [
    requireAdminScope(deps, 'users:write'),
    async function turnTwoStepOff(ctx: Context) {
      const found = await deps.users.findById(pathParam(ctx, 'id'));
      if (found === null) throw new TesseraError('ERR_USER_NOT_FOUND', 'No such user');
      ctx.body = { user: userJson(await resetTwoStep(deps, ctx, found, tokenActor(ctx))) };
    },
  ],
});
