/** `GET /account/email`: the form to change one's e-mail address (src/hub/routes/account-email.ts). */
import type { Context } from 'koa';
import { signedInRecently } from '../login/password-change';
import { requireSignedIn } from '../login/require-user';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { emailChangeView } from '../views/email-change';
import { passwordReauthView } from '../views/password';

export const accountEmailPage: RouteFactory = (deps) => ({
  name: 'account-email-page',
  method: 'GET',
  kind: 'page',
  path: '/account/email',
  middleware: [
    requireSignedIn,
    function showEmailForm(ctx: Context) {
      const user = ctx.state.session.user!;
      if (user.passwordHash === null && !signedInRecently(ctx.state.sessionControl.record()!, deps.clock)) {
        const signInHref = `/login?return_to=${encodeURIComponent(`${deps.config.publicUrl}/account/email`)}`;
        renderPage(ctx, { title: 'Your e-mail address', body: passwordReauthView({ signInHref, what: 'change your e-mail address' }) });
        return;
      }
      renderPage(ctx, { title: 'Your e-mail address', body: emailChangeView({ csrf: ctx.state.sessionControl.csrfToken(), current: user.email, hasPassword: user.passwordHash !== null }) });
    },
  ],
});
