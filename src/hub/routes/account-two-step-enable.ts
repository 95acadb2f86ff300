/**
 * `POST /account/two-step/enable`: turns two-step sign-in on with the secret the enrolment
 * page showed, once the person proves they hold it (a current code from their app) and who they
 * are (the current password; for an account without one, a sign-in in the last ten minutes).
 * Then every other session of theirs ends, the change is audited and announced by e-mail, and
 * the recovery codes are shown, once. Refusals (401 `ERR_TWO_STEP_CODE`, 403
 * `ERR_PASSWORD_INCORRECT` / `ERR_REAUTHENTICATION_REQUIRED`, 400 for a malformed secret)
 * store nothing.
 */
import type { Context } from 'koa';
import { nowSeconds } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import { normalizeEmail } from '../../core/users/normalize-email';
import { newRecoveryCodes, totpStep } from '../../users/two-step';
import { recordAudit } from '../audit/record';
import { checkWhoAsks } from '../login/password-change';
import { requireSignedIn } from '../login/require-user';
import { noticeTwoStepChange } from '../login/second-factor';
import { formField } from '../middleware/body';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import { renderPage } from '../middleware/page';
import { revokeUserSessions } from '../revocation/revoke';
import type { RouteFactory } from '../route';
import { recoveryCodesView } from '../views/two-step';
import { renderEnrolment } from './account-two-step-page';

/** 160 bits in base32: what `newTotpSecret` makes. */
const secretPattern = /^[A-Z2-7]{32}$/;

export const accountTwoStepEnable: RouteFactory = (deps) => ({
  name: 'account-two-step-enable',
  method: 'POST',
  kind: 'page',
  path: '/account/two-step/enable',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireSignedIn,
    requireCsrfToken,
    async function enableTwoStep(ctx: Context) {
      const user = ctx.state.session.user!;
      const record = ctx.state.sessionControl.record()!;
      if (user.totpEnabledAt !== null) {
        ctx.status = 303;
        ctx.redirect('/account/two-step');
        return;
      }
      const secret = formField(ctx, 'secret');
      if (!secretPattern.test(secret)) throw new TesseraError('ERR_BAD_REQUEST', 'The form is out of date: open the two-step page again.');
      const refuse = (code: 'ERR_TWO_STEP_CODE' | 'ERR_PASSWORD_INCORRECT' | 'ERR_REAUTHENTICATION_REQUIRED', message: string) => {
        ctx.state.log.info({ event: 'two-step', result: 'refused', userId: user.id, code }, 'two-step sign-in not turned on');
        return renderEnrolment(ctx, deps, message, new TesseraError(code, message).status, secret);
      };
      const refused = await checkWhoAsks(ctx, deps);
      if (refused === 'ERR_REAUTHENTICATION_REQUIRED') return refuse(refused, 'Sign in again first: two-step sign-in can be turned on for a few minutes after signing in.');
      if (refused === 'ERR_PASSWORD_INCORRECT') return refuse(refused, 'The current password is not correct.');
      const step = await totpStep(secret, formField(ctx, 'code'), nowSeconds(deps.clock));
      if (step === null) return refuse('ERR_TWO_STEP_CODE', 'That code is not right: check the time on your phone, and enter the code the app shows now.');

      const { codes, hashes } = newRecoveryCodes();
      await deps.users.setTotp(user.id, { secret, recoveryCodeHashes: hashes });
      // The code just shown must not sign in again.
      await deps.users.useTotpStep(user.id, step);
      await deps.limits.perAccount.reset(normalizeEmail(user.email));
      const ended = await revokeUserSessions(deps, user.id, 'two-step-changed', `user:${user.id}`, { exceptSid: record.sid });
      ctx.state.log.info({ event: 'two-step', result: 'on', userId: user.id, endedSessions: ended.length }, 'two-step sign-in turned on');
      recordAudit(deps.audit, ctx.state.log, { type: 'user.updated', actor: `user:${user.id}`, userId: user.id, sid: record.sid, ip: ctx.ip || null, details: { change: 'two-step-on', endedSessions: ended.length } });
      noticeTwoStepChange(ctx, deps, user, 'on');
      renderPage(ctx, { title: 'Two-step sign-in is on', body: recoveryCodesView({ codes, next: '/account/two-step?done=on' }) });
    },
  ],
});
