/**
 * Who may change or set their own password from the account page, and how a refusal answers.
 *
 * With a password: the current one, checked like a sign-in (argon2, the login rate limits).
 * Without one (an account that signs in by e-mail link): a sign-in within the last
 * {@link recentSignInSeconds}, so that a session left open on a shared computer, or stolen,
 * cannot add a password that outlives it.
 */
import type { Context } from 'koa';
import { nowSeconds, type Clock } from '../../core/clock';
import { hasCode, TesseraError, type TesseraErrorCode } from '../../core/errors';
import type { SessionRecord } from '../../ports';
import { passwordLimits, verifyPassword } from '../../users/password';
import { renderPage } from '../middleware/page';
import { passwordView } from '../views/password';

/** Whether `plain` is the password of `passwordHash`; input no password can be is simply wrong. */
export async function isCurrentPassword(passwordHash: string, plain: string): Promise<boolean> {
  try {
    return await verifyPassword(passwordHash, plain);
  } catch (err) {
    if (hasCode(err, 'ERR_PASSWORD_POLICY')) return false;
    throw err;
  }
}

/** How long after signing in a link-only account may set a password: ten minutes. */
export const recentSignInSeconds = 600;

/** True when the session was signed in (created: every sign-in makes a new one) recently. */
export function signedInRecently(record: SessionRecord, clock: Clock): boolean {
  return nowSeconds(clock) - record.createdAt <= recentSignInSeconds;
}

/**
 * Answers the password form again with `message` and the status of `code`, and logs the code
 * (never a password). Nothing is stored.
 */
export function refusePasswordChange(ctx: Context, hasPassword: boolean, code: TesseraErrorCode, message: string): void {
  const { status } = new TesseraError(code, message);
  ctx.state.log.info({ event: 'password-change', result: 'refused', userId: ctx.state.session.user?.id, code }, 'password change refused');
  renderPage(
    ctx,
    {
      title: hasPassword ? 'Change your password' : 'Set a password',
      body: passwordView({ csrf: ctx.state.sessionControl.csrfToken(), hasPassword, minLength: passwordLimits.minLength, maxBytes: passwordLimits.maxBytes, error: message }),
    },
    status,
  );
}
