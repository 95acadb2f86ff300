/** `GET /account`: who is signed in, and every session of theirs (this one marked). */
import type { Context } from 'koa';
import { requireSignedIn } from '../login/require-user';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { accountView } from '../views/account';

/** The notice after an action that came back here (`?ended=others`, `?password=changed`, …). */
const notices: Record<string, Record<string, string>> = {
  ended: { others: 'Signed out everywhere else.', one: 'That session is signed out.' },
  password: { changed: 'Your password is changed. Every other device is signed out.', set: 'Your password is set. Every other device is signed out.' },
  name: { changed: 'Your name is saved. Sites see it from your next visit.' },
  'two-step': { off: 'Two-step sign-in is off.' },
  email: { changed: 'Your e-mail address is changed.' },
};

function noticeFor(query: Context['query']): string | null {
  for (const [name, byValue] of Object.entries(notices)) {
    const value = query[name];
    if (typeof value === 'string' && Object.hasOwn(byValue, value)) return byValue[value]!;
  }
  return null;
}

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
      const info = noticeFor(ctx.query);
      const password = deps.config.login.allowPassword ? (user.passwordHash === null ? 'set' : 'change') : null;
      renderPage(ctx, { title: 'Your account', body: accountView({ user, sessions, currentSid: ctx.state.session.sid!, csrf: ctx.state.sessionControl.csrfToken(), info, password }) });
    },
  ],
});
