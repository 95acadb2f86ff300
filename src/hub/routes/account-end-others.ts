/** `POST /account/sessions/end-others`: "sign out everywhere else" — every session but this one. */
import type { Context } from 'koa';
import { requireSignedIn } from '../login/require-user';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
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
      const others = (await deps.sessions.listByUser(user.id)).filter((s) => s.sid !== ctx.state.session.sid);
      for (const s of others) await deps.sessions.revoke(s.sid);
      ctx.state.log.info({ event: 'logout', userId: user.id, ended: others.length, reason: 'user-ended-others' }, 'sessions ended');
      ctx.status = 303;
      ctx.redirect('/account?ended=others');
    },
  ],
});
