/** `POST /logout`: ends this browser's session at the hub and clears the cookie. */
import type { Context } from 'koa';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { logoutView } from '../views/login';

export const logout: RouteFactory = (deps) => ({
  name: 'logout',
  method: 'POST',
  kind: 'page',
  path: '/logout',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireCsrfToken,
    async function endSession(ctx: Context) {
      const ended = await ctx.state.sessionControl.logout();
      if (ended !== null) ctx.state.log.info({ event: 'logout', sid: ended.sid, userId: ended.userId, reason: 'user-logout' }, 'session ended');
      renderPage(ctx, { title: 'Signed out', body: logoutView({ csrf: '', signedIn: false }) });
    },
  ],
});
