/**
 * Between the two steps of a sign-in: the first factor (password or e-mail link) passed, the
 * code is still to come. Nothing is signed in yet: no session is created or changed. The
 * browser holds the pending sign-in in a cookie, `__Host-tessera-2step`, whose value is a
 * token the hub signed with its own keys (`typ: two-step+jwt`, 5 minutes, `iss` = `aud` = the
 * hub) naming the user, the first factor (for a password, the `passwordVersion` it was checked
 * against: a password change meanwhile gives the sign-in up), "keep me signed in" and
 * `return_to`; any hub instance can check it, and nobody can make one. It proves only the
 * first factor: the code page accepts it with a valid code of that user and nothing else, and
 * the code checks are rate-limited per account like passwords.
 */
import type { Context } from 'koa';
import { TesseraError } from '../../core/errors';
import { passwordChangedSince } from '../../core/users/password-version';
import type { UserRecord } from '../../ports';
import { clearCookie, setCookie, type CookieAttributes } from '../cookies';
import type { HubDeps } from '../deps';
import { completeLogin, requestedReturnTo, type LoginMethod } from './complete-login';
import { mintHubToken, readHubToken } from './hub-token';

export const TWO_STEP_TYP = 'two-step+jwt';
export const twoStepCookieName = '__Host-tessera-2step';
/** How long the code page waits for the code after the first factor. */
export const PENDING_SECONDS = 300;

const cookieAttributes: Omit<CookieAttributes, 'maxAge'> = { httpOnly: true, secure: true, sameSite: 'lax', path: '/' };

export interface PendingSignIn {
  userId: string;
  method: LoginMethod;
  persistent: boolean;
  returnTo: string | null;
  /** For a password first factor, the `passwordVersion` it was checked against; else null. */
  passwordVersion: number | null;
}

export interface SignInOptions {
  method: LoginMethod;
  persistent: boolean;
  returnTo: string | null;
}

/**
 * What every first factor does once it passed: sign in at once, or, when the user has turned
 * two-step sign-in on, hold the sign-in for the code (303 to `/login/code`).
 *
 * The user is read again first: `checked` was read before the first factor's check (argon2
 * takes a while), and two-step sign-in turned on, the user disabled or deleted, or (for a
 * password sign-in) the password changed meanwhile must not be missed (401 `ERR_LOGIN_FAILED`
 * for the latter three, nothing stored): a change of the password ends every session, and must
 * not leave one to whoever knew the old password.
 */
export async function continueSignIn(ctx: Context, deps: HubDeps, checked: UserRecord, options: SignInOptions): Promise<void> {
  const user = await deps.users.findById(checked.id);
  const passwordVersion = options.method === 'password' ? checked.passwordVersion : null;
  const reason = user === null ? 'unknown-user' : user.disabled ? 'disabled' : passwordChangedSince(passwordVersion, user) ? 'password-changed' : null;
  if (user === null || reason !== null) {
    ctx.state.log.info({ event: 'login', result: 'failure', method: options.method, reason, code: 'ERR_LOGIN_FAILED', userId: checked.id }, 'login failed');
    throw new TesseraError('ERR_LOGIN_FAILED', reason === 'password-changed' ? 'The account changed during the sign-in: sign in again.' : 'That account cannot sign in.');
  }
  if (user.totpEnabledAt === null) return completeLogin(ctx, deps, user, { ...options, passwordVersion });
  const token = mintHubToken(deps, TWO_STEP_TYP, { sub: user.id, amr: options.method, pwv: passwordVersion, rem: options.persistent, rt: options.returnTo }, PENDING_SECONDS);
  setCookie(ctx, twoStepCookieName, token, { ...cookieAttributes, maxAge: PENDING_SECONDS });
  ctx.state.log.info({ event: 'login', result: 'second-step', method: options.method, userId: user.id }, 'first factor passed; waiting for the code');
  ctx.status = 303;
  ctx.redirect('/login/code');
}

/** The sign-in this browser has pending, or null (none, expired, or not the hub's). */
export async function pendingSignIn(ctx: Context, deps: HubDeps): Promise<PendingSignIn | null> {
  const token = ctx.cookies.get(twoStepCookieName);
  if (!token) return null;
  const payload = await readHubToken(deps, TWO_STEP_TYP, token, PENDING_SECONDS);
  if (payload === null) return null;
  const { sub, amr, pwv, rem, rt } = payload;
  if (typeof sub !== 'string') return null;
  if ((amr !== 'password' && amr !== 'magic-link') || typeof rem !== 'boolean' || (rt !== null && typeof rt !== 'string')) return null;
  const passwordVersion = checkedPasswordVersion(amr, pwv);
  if (passwordVersion === undefined) return null;
  return { userId: sub, method: amr, persistent: rem, returnTo: requestedReturnTo(deps, rt), passwordVersion };
}

/**
 * The `pwv` claim of a pending sign-in: the password version a password first factor was
 * checked against, null for an e-mail link; undefined when it does not fit the method, as in a
 * token made before versions were recorded: that sign-in starts again, never ends unchecked.
 */
function checkedPasswordVersion(method: LoginMethod, pwv: unknown): number | null | undefined {
  if (method === 'magic-link') return pwv === null ? null : undefined;
  return typeof pwv === 'number' && Number.isSafeInteger(pwv) && pwv >= 0 ? pwv : undefined;
}

/** Forgets the pending sign-in (done, or given up). */
export function clearPendingSignIn(ctx: Context): void {
  clearCookie(ctx, twoStepCookieName, cookieAttributes);
}
