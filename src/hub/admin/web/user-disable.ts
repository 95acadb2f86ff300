/**
 * `POST /admin/users/:id/disable` (destructive: re-authentication applies; ends every session of
 * the user, reason `user-disabled`; not the admin's own account) and `POST /admin/users/:id/enable`.
 */
import type { Context } from 'koa';
import { TesseraError } from '../../../core/errors';
import { revokeUserSessions } from '../../revocation/revoke';
import { notifySessionsEnded } from '../notify';
import type { RouteFactory } from '../../route';
import { pathParam } from '../api/input';
import { recordAdminAction } from '../audit-action';
import { adminActor } from './guard';
import { adminPost } from './shared';

function setDisabled(disabled: boolean): RouteFactory {
  const verb = disabled ? 'disable' : 'enable';
  return (deps) => ({
    name: `admin-user-${verb}`,
    method: 'POST',
    kind: 'page',
    path: `/admin/users/:id/${verb}`,
    middleware: [
      ...adminPost(deps, disabled),
      async function changeUser(ctx: Context) {
        const found = await deps.users.findById(pathParam(ctx, 'id'));
        if (found === null) throw new TesseraError('ERR_USER_NOT_FOUND', 'No such user.');
        // It would end the session the admin acts from, and lock them out: the CLI can.
        if (disabled && found.id === ctx.state.session.user!.id) throw new TesseraError('ERR_FORBIDDEN', 'You cannot disable your own account here.');
        const actor = adminActor(ctx);
        await deps.users.setDisabled(found.id, disabled);
        if (disabled) await revokeUserSessions(deps, found.id, 'user-disabled', actor);
        if (disabled) notifySessionsEnded(deps, ctx, found.id, 'all');
        await deps.audit.append({ type: disabled ? 'user.disabled' : 'user.enabled', actor, userId: found.id, ip: ctx.ip || null });
        await recordAdminAction(deps.audit, ctx, actor, `user.${verb}`, found.id, found.id);
        ctx.status = 303;
        ctx.redirect(`/admin/users?done=${verb}d`);
      },
    ],
  });
}

export const adminUserDisable = setDisabled(true);
export const adminUserEnable = setDisabled(false);
