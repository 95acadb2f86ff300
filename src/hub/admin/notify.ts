/**
 * The optional e-mail to a person whose sessions an admin ended (`admin.notifyOnRevoke`): sent
 * after the answer is decided and never awaited, so a slow mail server cannot hold the admin up
 * and a failure is only logged.
 */
import type { Context } from 'koa';
import { sessionsEndedByAdminMessage } from '../../mail/templates';
import type { HubDeps } from '../deps';

export function notifySessionsEnded(deps: HubDeps, ctx: Context, userId: string | null): void {
  if (!deps.config.admin.notifyOnRevoke || userId === null) return;
  const log = ctx.state.log;
  (async () => {
    const user = await deps.users.findById(userId);
    if (user === null) return;
    await deps.mailer.send(sessionsEndedByAdminMessage({ to: user.email, at: new Date(deps.clock.now()) }));
  })().catch((err: unknown) => log.warn({ code: (err as { code?: unknown }).code, userId }, 'sessions-ended notice not sent'));
}
