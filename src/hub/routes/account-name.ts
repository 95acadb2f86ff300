/**
 * `POST /account/name`: the signed-in person changes their display name (shown on the hub's
 * pages and carried as the `name` claim to the sites that ask for it, from their next handoff).
 * Empty clears it. What `parseDisplayName` refuses (too long, several lines, control or bidi
 * override characters) is a 400 `ERR_BAD_REQUEST`, nothing changed.
 */
import type { Context } from 'koa';
import { parseDisplayName } from '../../core/users/display-name';
import { recordAudit } from '../audit/record';
import { requireSignedIn } from '../login/require-user';
import { formField } from '../middleware/body';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import type { RouteFactory } from '../route';

export const accountName: RouteFactory = (deps) => ({
  name: 'account-name',
  method: 'POST',
  kind: 'page',
  path: '/account/name',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireSignedIn,
    requireCsrfToken,
    async function changeName(ctx: Context) {
      const user = ctx.state.session.user!;
      const name = parseDisplayName(formField(ctx, 'name'));
      if (name !== user.name) {
        await deps.users.setName(user.id, name);
        recordAudit(deps.audit, ctx.state.log, { type: 'user.updated', actor: `user:${user.id}`, userId: user.id, sid: ctx.state.session.sid, ip: ctx.ip || null, details: { change: 'name' } });
      }
      ctx.status = 303;
      ctx.redirect('/account?name=changed');
    },
  ],
});
