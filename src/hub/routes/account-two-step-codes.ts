/**
 * `POST /account/two-step/recovery-codes`: a new set of ten recovery codes (the old ones stop
 * working), with a current code from the app or a recovery code; shown once, audited and
 * announced by e-mail. A wrong code: 401 `ERR_TWO_STEP_CODE`, nothing changed.
 */
import type { Context } from 'koa';
import { TesseraError } from '../../core/errors';
import type { UserRecord } from '../../ports';
import { newRecoveryCodes } from '../../users/two-step';
import { recordAudit } from '../audit/record';
import type { HubDeps } from '../deps';
import { requireSignedIn } from '../login/require-user';
import { checkAccountCode, noticeTwoStepChange } from '../login/second-factor';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { recoveryCodesView } from '../views/two-step';
import { renderManagement } from './account-two-step-page';

/** The two-step page again with the refusal, status 401 (or back to it when two-step sign-in is off). */
export function refuseTwoStepAction(ctx: Context, deps: HubDeps, user: UserRecord): Promise<void> {
  if (user.totpEnabledAt !== null) ctx.state.log.info({ event: 'two-step', result: 'refused', userId: user.id, code: 'ERR_TWO_STEP_CODE' }, 'two-step change refused');
  const error = 'That code is not right, or was used already.';
  return renderManagement(ctx, deps, user, { error }, new TesseraError('ERR_TWO_STEP_CODE', error).status);
}

export const accountTwoStepCodes: RouteFactory = (deps) => ({
  name: 'account-two-step-codes',
  method: 'POST',
  kind: 'page',
  path: '/account/two-step/recovery-codes',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireSignedIn,
    requireCsrfToken,
    async function renewRecoveryCodes(ctx: Context) {
      const user = ctx.state.session.user!;
      if (user.totpEnabledAt === null || (await checkAccountCode(ctx, deps, user)) === null) return refuseTwoStepAction(ctx, deps, user);
      const { codes, hashes } = newRecoveryCodes();
      await deps.users.setRecoveryCodes(user.id, hashes);
      ctx.state.log.info({ event: 'two-step', result: 'recovery-codes', userId: user.id }, 'new recovery codes');
      recordAudit(deps.audit, ctx.state.log, { type: 'user.updated', actor: `user:${user.id}`, userId: user.id, sid: ctx.state.session.sid, ip: ctx.ip || null, details: { change: 'recovery-codes' } });
      noticeTwoStepChange(ctx, deps, user, 'recovery-codes');
      renderPage(ctx, { title: 'New recovery codes', body: recoveryCodesView({ codes, next: '/account/two-step' }) });
    },
  ],
});
