/**
 * An administrator turning a user's two-step sign-in off (admin API and web UI): secret and
 * recovery codes forgotten, sessions kept; audited as `user.updated` (`change: two-step-reset`)
 * and as an `admin.action`; the person told by e-mail.
 */
import type { Context } from 'koa';
import type { UserRecord } from '../../ports';
import type { HubDeps } from '../deps';
import { recordAdminAction } from './audit-action';
import { notifyTwoStepReset } from './notify';

/** @returns the user as changed. */
export async function resetTwoStep(deps: HubDeps, ctx: Context, user: UserRecord, actor: string): Promise<UserRecord> {
  const changed = await deps.users.setTotp(user.id, null);
  await deps.audit.append({ type: 'user.updated', actor, userId: user.id, ip: ctx.ip || null, details: { change: 'two-step-reset' } });
  notifyTwoStepReset(deps, ctx, user);
  await recordAdminAction(deps.audit, ctx, actor, 'user.two-step-reset', user.id, user.id);
  return changed;
}
