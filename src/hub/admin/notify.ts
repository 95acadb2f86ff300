/**
 * E-mails to a person about what an admin did to their account: the optional notice that their
 * sessions were ended (`admin.notifyOnRevoke`), and the notices, always sent, that their two-step
 * sign-in was turned off or their account deleted. Sent after the answer is decided and never
 * awaited, so a slow mail server cannot hold the admin up and a failure is only logged.
 */
import type { Context } from 'koa';
import { accountDeletedByAdminMessage, sessionsEndedByAdminMessage, twoStepResetByAdminMessage } from '../../mail/templates';
import type { HubDeps } from '../deps';

/** `scope`: whether every session of the user was ended, or one. */
export function notifySessionsEnded(deps: HubDeps, ctx: Context, userId: string | null, scope: 'one' | 'all'): void {
  if (!deps.config.admin.notifyOnRevoke || userId === null) return;
  const log = ctx.state.log;
  (async () => {
    const user = await deps.users.findById(userId);
    if (user === null) return;
    await deps.mailer.send(sessionsEndedByAdminMessage({ to: user.email, scope, at: new Date(deps.clock.now()) }));
  })().catch((err: unknown) => log.warn({ code: (err as { code?: unknown }).code, userId }, 'sessions-ended notice not sent'));
}

export function notifyTwoStepReset(deps: HubDeps, ctx: Context, user: { id: string; email: string }): void {
  deps.mailer
    .send(twoStepResetByAdminMessage({ to: user.email, at: new Date(deps.clock.now()) }))
    .catch((err: unknown) => ctx.state.log.warn({ code: (err as { code?: unknown }).code, userId: user.id }, 'two-step reset notice not sent'));
}

/** After `deleteUser` removed the account: `removed` is the record it returned, with the address the account had. */
export function notifyAccountDeleted(deps: HubDeps, ctx: Context, removed: { id: string; email: string }): void {
  deps.mailer
    .send(accountDeletedByAdminMessage({ to: removed.email, at: new Date(deps.clock.now()) }))
    .catch((err: unknown) => ctx.state.log.warn({ code: (err as { code?: unknown }).code, userId: removed.id }, 'account deletion notice not sent'));
}
