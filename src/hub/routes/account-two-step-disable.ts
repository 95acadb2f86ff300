/**
 * `POST /account/two-step/disable`: turns two-step sign-in off, with a current code from the
 * app or a recovery code (attempts count against the login limits). Audited and announced by
 * e-mail. A wrong code: 401 `ERR_TWO_STEP_CODE`, nothing changed.
 */
import type { Context } from 'koa';
import { recordAudit } from '../audit/record';
import { requireSignedIn } from '../login/require-user';
import { checkAccountCode, noticeTwoStepChange } from '../login/second-factor';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import type { RouteFactory } from '../route';
import { refuseTwoStepAction } from './account-two-step-codes';

export const accountTwoStepDisable: RouteFactory = (deps) => ({
  name: 'account-two-step-disable',
  method: 'POST',
  kind: 'page',
  path: '/account/two-step/disable',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireSignedIn,
    requireCsrfToken,
    async function disableTwoStep(ctx: Context) {
      const user = ctx.state.session.user!;
      if (user.totpEnabledAt === null || (await checkAccountCode(ctx, deps, user)) === null) return refuseTwoStepAction(ctx, deps, user);
      await deps.users.setTotp(user.id, null);
      ctx.state.log.info({ event: 'two-step', result: 'off', userId: user.id }, 'two-step sign-in turned off');
      recordAudit(deps.audit, ctx.state.log, { type: 'user.updated', actor: `user:${user.id}`, userId: user.id, sid: ctx.state.session.sid, ip: ctx.ip || null, details: { change: 'two-step-off' } });
      noticeTwoStepChange(ctx, deps, user, 'off');
      ctx.status = 303;
      ctx.redirect('/account?two-step=off');
    },
  ],
});
