/**
 * Who may change the account's credentials from the account page (the password, the e-mail
 * address, two-step sign-in), and how a refusal of a password change answers.
 *
 * With a password: the current one, checked like a sign-in (argon2, the login rate limits).
 * Without one (an account that signs in by e-mail link): a sign-in within the last
 * {@link recentSignInSeconds}, so that a session left open on a shared computer, or stolen,
 * cannot add a credential that outlives it.
 */
import type { Context } from 'koa';
import { nowSeconds, type Clock } from '../../core/clock';
import { hasCode, TesseraError, type TesseraErrorCode } from '../../core/errors';
import { normalizeEmail } from '../../core/users/normalize-email';
import type { SessionRecord } from '../../ports';
import { passwordLimits, verifyPassword } from '../../users/password';
import type { HubDeps } from '../deps';
import { formField } from '../middleware/body';
import { renderPage } from '../middleware/page';
import { passwordReauthView, passwordView } from '../views/password';
import { countAttempt } from './rate-limit';

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
 * Whether this session must sign in again before it may change credentials: the account has no
 * password to confirm, and its sign-in is not recent.
 */
export function needsFreshSignIn(ctx: Context, clock: Clock): boolean {
  return ctx.state.session.user!.passwordHash === null && !signedInRecently(ctx.state.sessionControl.record()!, clock);
}

/**
 * The page that sends such a session to sign in again and come back to `path`, to `what`
 * (`'set a password'`, …).
 */
export function renderSignInAgain(ctx: Context, deps: Pick<HubDeps, 'config'>, page: { title: string; path: string; what: string }): void {
  const signInHref = `/login?return_to=${encodeURIComponent(`${deps.config.publicUrl}${page.path}`)}`;
  renderPage(ctx, { title: page.title, body: passwordReauthView({ signInHref, what: page.what }) });
}

/**
 * Who asks to change the credentials of the signed-in account: the attempt counts against the
 * per-address and per-account login limits first (429 beyond them), then the current password
 * in the form's `current_password` must match or, for an account without one, the sign-in must
 * be recent. Null when so; else the refusal's code. Resetting the account budget after success
 * is the caller's.
 */
export async function checkWhoAsks(ctx: Context, deps: Pick<HubDeps, 'limits' | 'clock'>): Promise<'ERR_PASSWORD_INCORRECT' | 'ERR_REAUTHENTICATION_REQUIRED' | null> {
  const user = ctx.state.session.user!;
  await countAttempt(ctx, deps, normalizeEmail(user.email));
  if (user.passwordHash === null) return signedInRecently(ctx.state.sessionControl.record()!, deps.clock) ? null : 'ERR_REAUTHENTICATION_REQUIRED';
  return (await isCurrentPassword(user.passwordHash, formField(ctx, 'current_password'))) ? null : 'ERR_PASSWORD_INCORRECT';
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
