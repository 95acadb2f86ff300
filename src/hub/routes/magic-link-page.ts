/**
 * `GET /login/link?token=…`: the page a magic link opens. It does NOT consume the token — mail
 * scanners and link previewers issue GETs — it shows a button that POSTs it.
 */
import type { Context } from 'koa';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { invalidLinkView, magicLinkLandingView } from '../views/login';

export const linkTokenPattern = /^[A-Za-z0-9_-]{43}$/;

export const magicLinkPage: RouteFactory = () => ({
  name: 'magic-link-page',
  method: 'GET',
  kind: 'page',
  path: '/login/link',
  middleware: [
    function showContinueButton(ctx: Context) {
      const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
      if (!linkTokenPattern.test(token)) {
        renderPage(ctx, { title: 'Sign-in link not valid', body: invalidLinkView() }, 400);
        return;
      }
      renderPage(ctx, { title: 'Sign in', body: magicLinkLandingView({ csrf: ctx.state.sessionControl.csrfToken(), token }) });
    },
  ],
});
