/** `POST /account/sessions/end-others`: "sign out everywhere else" — every session but this one. */
import type { Context } from 'koa';
import { requireSignedIn } from '../login/require-user';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import { revokeUserSessions } from '../revocation/revoke';
import type { RouteFactory } from '../route';

export const accountEndOthers: RouteFactory = (deps) => ({
  name: 'account-end-others',
  method: 'POST',
  kind: 'page',
  path: '/account/sessions/end-others',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireSignedIn,
    requireCsrfToken,
    async function endOtherSessions(ctx: Context) {
      const user = ctx.state.session.user!;
      const current = ctx.state.session.sid;
      await revokeUserSessions(deps, user.id, 'user-ended-others', `user:${user.id}`, current === null ? {} : { exceptSid: current });
      ctx.status = 303;
      ctx.redirect('/account?ended=others');
    },
  ],
});
