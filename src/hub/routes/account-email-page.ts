/** `GET /account/email`: the form to change one's e-mail address (src/hub/routes/account-email.ts). */
import type { Context } from 'koa';
import { needsFreshSignIn, renderSignInAgain } from '../login/password-change';
import { requireSignedIn } from '../login/require-user';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { emailChangeView } from '../views/email-change';

export const accountEmailPage: RouteFactory = (deps) => ({
  name: 'account-email-page',
  method: 'GET',
  kind: 'page',
  path: '/account/email',
  middleware: [
    requireSignedIn,
    function showEmailForm(ctx: Context) {
      const user = ctx.state.session.user!;
      if (needsFreshSignIn(ctx, deps.clock)) return renderSignInAgain(ctx, deps, { title: 'Your e-mail address', path: '/account/email', what: 'change your e-mail address' });
      renderPage(ctx, { title: 'Your e-mail address', body: emailChangeView({ csrf: ctx.state.sessionControl.csrfToken(), current: user.email, hasPassword: user.passwordHash !== null }) });
    },
  ],
});
