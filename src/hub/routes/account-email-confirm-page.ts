/**
 * `GET /account/email/confirm?token=…`: the landing page of the link mailed to a new address.
 * A GET changes nothing (mail scanners open links); it names both addresses and posts the
 * change. Signed in as the account the link is for (a visitor not signed in signs in first and
 * comes back here, token and all), and the link is the account's pending change (not replaced
 * by a newer request, a read of the user record: nothing is spent), or it is not valid (400).
 */
import type { Context, Next } from 'koa';
import { isPendingEmailChange, pendingEmailChange } from '../login/email-change';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { emailConfirmView, emailLinkInvalidView } from '../views/email-change';

export const accountEmailConfirmPage: RouteFactory = (deps) => ({
  name: 'account-email-confirm-page',
  method: 'GET',
  kind: 'page',
  path: '/account/email/confirm',
  middleware: [
    // Not requireSignedIn: its way back to this page would lose the token in the query.
    async function signInFirst(ctx: Context, next: Next) {
      if (ctx.state.session.user !== null) return next();
      ctx.status = 303;
      ctx.redirect(`/login?return_to=${encodeURIComponent(ctx.originalUrl)}`);
    },
    async function showEmailConfirm(ctx: Context) {
      const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
      const change = token === '' ? null : await pendingEmailChange(deps, ctx.state.session.user!, token);
      // A link replaced by a newer request (or outdated by a change made since) is refused here
      // already, as a spent one is, rather than offering a button that could only be refused.
      if (change === null || !(await isPendingEmailChange(deps, change))) {
        renderPage(ctx, { title: 'Link not valid', body: emailLinkInvalidView() }, 400);
        return;
      }
      renderPage(ctx, { title: 'Your e-mail address', body: emailConfirmView({ csrf: ctx.state.sessionControl.csrfToken(), token, from: change.from, to: change.to }) });
    },
  ],
});
