/**
 * Checking a second-factor code of a user with two-step sign-in on: a TOTP code (its step
 * recorded, so it works once) or a recovery code (spent). Shared by the sign-in and the
 * account page, which both count attempts against the per-account login limit first.
 */
import type { Context } from 'koa';
import { nowSeconds } from '../../core/clock';
import { describeDevice } from '../../core/sessions/device';
import { normalizeEmail } from '../../core/users/normalize-email';
import { twoStepChangedMessage } from '../../mail/templates';
import type { UserRecord } from '../../ports';
import { hashRecoveryCode, looksLikeRecoveryCode, normalizeTotpCode, totpStep } from '../../users/two-step';
import type { HubDeps } from '../deps';
import { formField } from '../middleware/body';
import { countAttempt } from './rate-limit';

export type SecondFactor = 'totp' | 'recovery-code';

/** Which kind of code `input` was when it is valid (and now spent) for `userId`; null otherwise. */
export async function checkSecondFactor(deps: Pick<HubDeps, 'users' | 'clock'>, userId: string, input: string): Promise<SecondFactor | null> {
  const state = await deps.users.totpState(userId);
  if (state === null) return null;
  if (normalizeTotpCode(input) !== null) {
    const step = await totpStep(state.secret, input, nowSeconds(deps.clock));
    return step !== null && (await deps.users.useTotpStep(userId, step)) ? 'totp' : null;
  }
  if (looksLikeRecoveryCode(input) && (await deps.users.useRecoveryCode(userId, hashRecoveryCode(input)))) return 'recovery-code';
  return null;
}

/**
 * For the account page's two-step actions: the code in the form, counted against the login
 * limits first (a stolen session must not guess codes faster than a sign-in could). Throws
 * `ERR_RATE_LIMITED` beyond them; null for a wrong or spent code.
 */
export async function checkAccountCode(ctx: Context, deps: HubDeps, user: UserRecord): Promise<SecondFactor | null> {
  await countAttempt(ctx, deps, normalizeEmail(user.email));
  const factor = await checkSecondFactor(deps, user.id, formField(ctx, 'code'));
  if (factor !== null) await deps.limits.perAccount.reset(normalizeEmail(user.email));
  return factor;
}

/** Tells the user by e-mail about a change to their two-step sign-in (not awaited; a failure is logged). */
export function noticeTwoStepChange(ctx: Context, deps: HubDeps, user: UserRecord, change: 'on' | 'off' | 'recovery-codes'): void {
  const record = ctx.state.sessionControl.record();
  const message = twoStepChangedMessage({ to: user.email, change, device: describeDevice(record?.userAgent ?? null), ip: record?.ip ?? null, at: new Date(deps.clock.now()) });
  deps.mailer.send(message).catch((err: unknown) => ctx.state.log.warn({ err: (err as Error).message, userId: user.id }, 'two-step notice not sent'));
}
