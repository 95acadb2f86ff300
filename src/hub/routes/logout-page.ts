/** `GET /logout`: a confirmation form — logout is a POST, never a plain GET (SECURITY.md). */
import type { Context } from 'koa';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { logoutView } from '../views/login';

export const logoutPage: RouteFactory = () => ({
  name: 'logout-page',
  method: 'GET',
  kind: 'page',
  path: '/logout',
  middleware: [
    function confirmLogout(ctx: Context) {
      const signedIn = ctx.state.session.sid !== null;
      renderPage(ctx, { title: 'Sign out', body: logoutView({ csrf: signedIn ? ctx.state.sessionControl.csrfToken() : '', signedIn }) });
    },
  ],
});
