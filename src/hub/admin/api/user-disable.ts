/**
 * `POST /api/v1/admin/users/:id/disable` and `…/enable`. Disabling also ends every session of
 * the user everywhere (reason `user-disabled`): a disabled user must not stay signed in.
 */
import type { Context } from 'koa';
import { TesseraError } from '../../../core/errors';
import { revokeUserSessions } from '../../revocation/revoke';
import { notifySessionsEnded } from '../notify';
import type { RouteFactory } from '../../route';
import { recordAdminAction } from '../audit-action';
import { userJson } from '../present';
import { requireAdminScope, tokenActor } from './auth';
import { pathParam } from './input';

function setDisabled(disabled: boolean): RouteFactory {
  const verb = disabled ? 'disable' : 'enable';
  return (deps) => ({
    name: `admin-api-user-${verb}`,
    method: 'POST',
    kind: 'plain',
    path: `/api/v1/admin/users/:id/${verb}`,
    middleware: [
      requireAdminScope(deps, 'users:write'),
      async function changeUser(ctx: Context) {
        const found = await deps.users.findById(pathParam(ctx, 'id'));
        if (found === null) throw new TesseraError('ERR_USER_NOT_FOUND', 'No such user');
        const actor = tokenActor(ctx);
        const user = await deps.users.setDisabled(found.id, disabled);
        const ended = disabled ? await revokeUserSessions(deps, user.id, 'user-disabled', actor) : [];
        if (disabled) notifySessionsEnded(deps, ctx, user.id, 'all');
        await deps.audit.append({ type: disabled ? 'user.disabled' : 'user.enabled', actor, userId: user.id, ip: ctx.ip || null });
        await recordAdminAction(deps.audit, ctx, actor, `user.${verb}`, user.id, user.id);
        ctx.body = { user: userJson(user), revoked: ended.map((s) => s.sid) };
      },
    ],
  });
}

export const adminApiUserDisable = setDisabled(true);
export const adminApiUserEnable = setDisabled(false);
