/** `GET /login/code`: the second step of a sign-in, while one is pending (else back to `/login`). */
import type { Context } from 'koa';
import { pendingSignIn } from '../login/two-step';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { codeView } from '../views/two-step';

export const loginCodePage: RouteFactory = (deps) => ({
  name: 'login-code-page',
  method: 'GET',
  kind: 'page',
  path: '/login/code',
  middleware: [
    async function showCodeForm(ctx: Context) {
      if ((await pendingSignIn(ctx, deps)) === null) {
        ctx.status = 303;
        ctx.redirect('/login');
        return;
      }
      renderPage(ctx, { title: 'Two-step sign-in', body: codeView({ csrf: ctx.state.sessionControl.csrfToken() }) });
    },
  ],
});
