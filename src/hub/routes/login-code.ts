/**
 * `POST /login/code`: the second step of a pending sign-in (src/hub/login/two-step.ts). A
 * valid code of that user completes the sign-in the first factor started; a wrong one answers
 * 401 `ERR_TWO_STEP_CODE` with the form again (the sign-in stays pending until it expires), and
 * every attempt counts against the per-account and per-address login limits (429 beyond them).
 * Without a pending sign-in (none, expired, forged), or for a user since disabled, without
 * two-step sign-in or with another password than the one the pending sign-in checked, back to
 * `/login`.
 */
import type { Context } from 'koa';
import { normalizeEmail } from '../../core/users/normalize-email';
import { passwordChangedSince } from '../../core/users/password-version';
import { recordAudit } from '../audit/record';
import { completeLogin } from '../login/complete-login';
import { countAttempt } from '../login/rate-limit';
import { checkSecondFactor } from '../login/second-factor';
import { clearPendingSignIn, pendingSignIn } from '../login/two-step';
import { formField } from '../middleware/body';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { codeView } from '../views/two-step';

export const loginCode: RouteFactory = (deps) => ({
  name: 'login-code',
  method: 'POST',
  kind: 'page',
  path: '/login/code',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireCsrfToken,
    async function checkCode(ctx: Context) {
      const pending = await pendingSignIn(ctx, deps);
      const user = pending === null ? null : await deps.users.findById(pending.userId);
      const passwordChanged = pending !== null && user !== null && passwordChangedSince(pending.passwordVersion, user);
      if (passwordChanged) {
        ctx.state.log.info({ event: 'login', result: 'failure', method: pending.method, reason: 'password-changed', code: 'ERR_LOGIN_FAILED', userId: user.id }, 'the password changed during the sign-in');
      }
      if (pending === null || user === null || user.disabled || user.totpEnabledAt === null || passwordChanged) {
        clearPendingSignIn(ctx);
        ctx.status = 303;
        ctx.redirect('/login');
        return;
      }
      const accountKey = normalizeEmail(user.email);
      await countAttempt(ctx, deps, accountKey);
      const factor = await checkSecondFactor(deps, user.id, formField(ctx, 'code'));
      if (factor === null) {
        ctx.state.log.info({ event: 'login', result: 'failure', method: pending.method, reason: 'bad-code', code: 'ERR_TWO_STEP_CODE', userId: user.id }, 'second step failed');
        deps.metrics.countLogin(pending.method, 'failure');
        recordAudit(deps.audit, ctx.state.log, { type: 'login.failure', userId: user.id, ip: ctx.ip || null, reason: 'bad-code', details: { method: pending.method, secondFactor: 'totp' } });
        renderPage(ctx, { title: 'Two-step sign-in', body: codeView({ csrf: ctx.state.sessionControl.csrfToken(), error: 'That code is not right, or was used already.' }) }, 401);
        return;
      }
      await deps.limits.perAccount.reset(accountKey);
      clearPendingSignIn(ctx);
      await completeLogin(ctx, deps, user, { method: pending.method, persistent: pending.persistent, returnTo: pending.returnTo, secondFactor: factor, passwordVersion: pending.passwordVersion });
    },
  ],
});
