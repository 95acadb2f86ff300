/** `GET /account`: who is signed in, and every session of theirs (this one marked). */
import type { Context } from 'koa';
import { requireSignedIn } from '../login/require-user';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { accountView } from '../views/account';

export const accountPage: RouteFactory = (deps) => ({
  name: 'account-page',
  method: 'GET',
  kind: 'page',
  path: '/account',
  middleware: [
    requireSignedIn,
    async function showAccount(ctx: Context) {
      const user = ctx.state.session.user!;
      // This request's own session was read a moment ago by hubSession: not read again.
      const sessions = await deps.sessions.listByUser(user.id, ctx.state.sessionControl.record() ?? undefined);
      const info = ctx.query.ended === 'others' ? 'Signed out everywhere else.' : ctx.query.ended === 'one' ? 'That session is signed out.' : null;
      renderPage(ctx, { title: 'Your account', body: accountView({ user, sessions, currentSid: ctx.state.session.sid!, csrf: ctx.state.sessionControl.csrfToken(), info }) });
    },
  ],
});
