/**
 * `POST /account/sessions/end`: a person signs out one of their own sessions. A sid that is
 * not theirs answers exactly like one that does not exist (404), so nobody can probe or end
 * another user's sessions through this form.
 */
import type { Context } from 'koa';
import { TesseraError } from '../../core/errors';
import { isSessionId } from '../../core/sessions/session';
import { requireSignedIn } from '../login/require-user';
import { formField } from '../middleware/body';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import { revokeSession } from '../revocation/revoke';
import type { RouteFactory } from '../route';

export const accountEndSession: RouteFactory = (deps) => ({
  name: 'account-end-session',
  method: 'POST',
  kind: 'page',
  path: '/account/sessions/end',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireSignedIn,
    requireCsrfToken,
    async function endOwnSession(ctx: Context) {
      const sid = formField(ctx, 'sid');
      const user = ctx.state.session.user!;
      const own = isSessionId(sid) ? (await deps.sessions.listByUser(user.id)).some((s) => s.sid === sid) : false;
      if (!own) throw new TesseraError('ERR_NOT_FOUND', 'No such session.');
      if (sid === ctx.state.session.sid) {
        await ctx.state.sessionControl.logout();
        ctx.status = 303;
        ctx.redirect('/login');
        return;
      }
      await revokeSession(deps, sid, 'user-ended-other', `user:${user.id}`);
      ctx.status = 303;
      ctx.redirect('/account?ended=one');
    },
  ],
});
