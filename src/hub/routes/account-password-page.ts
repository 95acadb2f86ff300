/** `GET /account/password`: the form to change one's password, or to set one (link-only account). */
import type { Context } from 'koa';
import { TesseraError } from '../../core/errors';
import { passwordLimits } from '../../users/password';
import { needsFreshSignIn, renderSignInAgain } from '../login/password-change';
import { requireSignedIn } from '../login/require-user';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { passwordView } from '../views/password';

export const accountPasswordPage: RouteFactory = (deps) => ({
  name: 'account-password-page',
  method: 'GET',
  kind: 'page',
  path: '/account/password',
  middleware: [
    requireSignedIn,
    function showPasswordForm(ctx: Context) {
      if (!deps.config.login.allowPassword) throw new TesseraError('ERR_NOT_FOUND', 'Not found.');
      const user = ctx.state.session.user!;
      const hasPassword = user.passwordHash !== null;
      const title = hasPassword ? 'Change your password' : 'Set a password';
      if (needsFreshSignIn(ctx, deps.clock)) return renderSignInAgain(ctx, deps, { title, path: '/account/password', what: 'set a password' });
      renderPage(ctx, { title, body: passwordView({ csrf: ctx.state.sessionControl.csrfToken(), hasPassword, minLength: passwordLimits.minLength, maxBytes: passwordLimits.maxBytes }) });
    },
  ],
});
