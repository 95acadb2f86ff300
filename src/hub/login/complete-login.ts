/**
 * What every way of signing in does once the person is known: a new session (old one ended,
 * anonymous data carried over), the last-login time, the optional new-sign-in e-mail, and the
 * way on to a `return_to` that is the hub or a configured site (else the account page).
 *
 * When configured sites do not hold the new session yet, the way on is the fan-out page: one
 * beacon per site, then `return_to` (DESIGN.md "The flows", 2). With no sites it is a plain 303.
 */
import type { Context } from 'koa';
import { nowSeconds } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import { describeDevice } from '../../core/sessions/device';
import { passwordChangedSince } from '../../core/users/password-version';
import { newSignInMessage } from '../../mail/templates';
import type { UserRecord } from '../../ports';
import { recordAudit } from '../audit/record';
import type { HubDeps } from '../deps';
import { mintBeacons, sitesLacking } from '../handoff/mint';
import { siteRegistry } from '../handoff/sites';
import { renderPage } from '../middleware/page';
import { revokeSession } from '../revocation/revoke';
import type { SecondFactor } from './second-factor';
import { fanOutTail, fanOutView } from '../views/fanout';

export type LoginMethod = 'password' | 'magic-link';

/**
 * @param options.passwordVersion for a password sign-in, the user's `passwordVersion` as read
 *   with the hash the password was checked against; null for an e-mail link, which proves
 *   no password and outlives a password change like any later sign-in by link would.
 */
export async function completeLogin(
  ctx: Context,
  deps: HubDeps,
  user: UserRecord,
  options: { method: LoginMethod; persistent: boolean; returnTo: string | null; secondFactor?: SecondFactor; passwordVersion: number | null },
): Promise<void> {
  const record = await ctx.state.sessionControl.login(user, { persistent: options.persistent });
  await endIfChangedMeanwhile(ctx, deps, user.id, record.sid, { passedCode: options.secondFactor !== undefined, passwordVersion: options.passwordVersion });
  // Best effort: the session is already stored, and a failed bookkeeping write must not turn a
  // successful sign-in into an error page that still carries the new cookie.
  await deps.users.recordLogin(user.id, nowSeconds(deps.clock)).catch((err: unknown) => ctx.state.log.warn({ err: (err as Error).message, userId: user.id }, 'last-login time not recorded'));
  const secondFactor: Record<string, string> = options.secondFactor === undefined ? {} : { secondFactor: options.secondFactor };
  ctx.state.log.info({ event: 'login', result: 'success', method: options.method, ...secondFactor, userId: user.id, sid: record.sid }, 'login succeeded');
  deps.metrics.countLogin(options.method, 'success');
  recordAudit(deps.audit, ctx.state.log, { type: 'login.success', actor: `user:${user.id}`, userId: user.id, sid: record.sid, ip: ctx.ip || null, details: { method: options.method, ...secondFactor } });
  if (deps.config.login.notifyNewSignIn) {
    const message = newSignInMessage({ to: user.email, device: describeDevice(record.userAgent), ip: record.ip ?? 'unknown', at: new Date(deps.clock.now()) });
    // Not awaited: the person should not wait for the mail server, and a failure is logged.
    deps.mailer.send(message).catch((err: unknown) => ctx.state.log.warn({ err: (err as Error).message, userId: user.id }, 'sign-in notice not sent'));
  }
  const registry = siteRegistry(deps.config);
  const returnTo = registry.safeReturnTo(options.returnTo, `${deps.config.publicUrl}/account`);
  const beacons = await mintBeacons(deps, sitesLacking(deps, record), { record, user }, registry.hubHostName);
  if (beacons.length === 0) {
    ctx.status = 303;
    ctx.redirect(returnTo);
    return;
  }
  renderPage(ctx, {
    title: 'Signing you in…',
    body: fanOutView({ returnTo }),
    tail: fanOutTail({ beacons, nonce: ctx.state.cspNonce, returnTo, timeoutMs: deps.config.handoff.fanOutTimeoutMs }),
  });
}

/**
 * The account as it is once the session exists: disabled, deleted, given two-step sign-in
 * (this sign-in having passed no code) or, for a password sign-in, given another password
 * after the checks that let this sign-in through, it ends the new session everywhere at once
 * and refuses the sign-in (401 `ERR_LOGIN_FAILED`, no cookie: the error answer drops it).
 * Whatever changed the account before this read, the new session is seen by whatever changes
 * it after (all of them store the change, then end every session of the user).
 *
 * The password is compared by `passwordVersion`, not by hash (`passwordChangedSince` says why).
 */
async function endIfChangedMeanwhile(ctx: Context, deps: HubDeps, userId: string, sid: string, signIn: { passedCode: boolean; passwordVersion: number | null }): Promise<void> {
  const now = await deps.users.findById(userId);
  const reason =
    now === null || now.disabled
      ? 'user-disabled'
      : now.totpEnabledAt !== null && !signIn.passedCode
        ? 'two-step-changed'
        : passwordChangedSince(signIn.passwordVersion, now)
          ? 'password-changed'
          : null;
  if (reason === null) return;
  await revokeSession(deps, sid, reason, 'system');
  ctx.state.log.info({ event: 'login', result: 'failure', reason, code: 'ERR_LOGIN_FAILED', userId }, 'the account changed during the sign-in');
  throw new TesseraError('ERR_LOGIN_FAILED', 'The account changed during the sign-in: sign in again.');
}

/** `return_to` from a query string or form, as the hub will honour it (or null). */
export function requestedReturnTo(deps: HubDeps, value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  const safe = siteRegistry(deps.config).safeReturnTo(value, '');
  return safe === '' ? null : safe;
}
