/** `GET /login`: the sign-in page (password and e-mail link forms). */
import type { Context } from 'koa';
import { requestedReturnTo } from '../login/complete-login';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { loginView } from '../views/login';

export const loginPage: RouteFactory = (deps) => ({
  name: 'login-page',
  method: 'GET',
  kind: 'page',
  path: '/login',
  middleware: [
    function showLoginForm(ctx: Context) {
      const returnTo = requestedReturnTo(deps, ctx.query.return_to) ?? '';
      renderPage(ctx, {
        title: 'Sign in',
        body: loginView({ csrf: ctx.state.sessionControl.csrfToken(), returnTo, allowPassword: deps.config.login.allowPassword, allowMagicLink: deps.config.login.allowMagicLink }),
      });
    },
  ],
});
