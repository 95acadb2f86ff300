/**
 * What every way of signing in does once the person is known: a new session (old one ended,
 * anonymous data carried over), the last-login time, the optional new-sign-in e-mail, and the
 * redirect to a `return_to` that is the hub or a configured site (else the account page).
 */
import type { Context } from 'koa';
import { nowSeconds } from '../../core/clock';
import { describeDevice } from '../../core/sessions/device';
import { SiteRegistry } from '../../core/sites/registry';
import { newSignInMessage } from '../../mail/templates';
import type { UserRecord } from '../../ports';
import type { HubDeps } from '../deps';

export type LoginMethod = 'password' | 'magic-link';

export async function completeLogin(
  ctx: Context,
  deps: HubDeps,
  user: UserRecord,
  options: { method: LoginMethod; persistent: boolean; returnTo: string | null },
): Promise<void> {
  const record = await ctx.state.sessionControl.login(user, { persistent: options.persistent });
  await deps.users.recordLogin(user.id, nowSeconds(deps.clock));
  ctx.state.log.info({ event: 'login', result: 'success', method: options.method, userId: user.id, sid: record.sid }, 'login succeeded');
  if (deps.config.login.notifyNewSignIn) {
    const message = newSignInMessage({ to: user.email, device: describeDevice(record.userAgent), ip: record.ip ?? 'unknown', at: new Date(deps.clock.now()) });
    // Not awaited: the person should not wait for the mail server, and a failure is logged.
    deps.mailer.send(message).catch((err: unknown) => ctx.state.log.warn({ err: (err as Error).message, userId: user.id }, 'sign-in notice not sent'));
  }
  const registry = new SiteRegistry(deps.config.publicUrl, deps.config.sites);
  ctx.status = 303;
  ctx.redirect(registry.safeReturnTo(options.returnTo, `${deps.config.publicUrl}/account`));
}

/** `return_to` from a query string or form, as the hub will honour it (or null). */
export function requestedReturnTo(deps: HubDeps, value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  const registry = new SiteRegistry(deps.config.publicUrl, deps.config.sites);
  const safe = registry.safeReturnTo(value, '');
  return safe === '' ? null : safe;
}
