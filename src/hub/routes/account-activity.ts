/**
 * `GET /account/activity`: the signed-in person's recent security events from the audit log
 * (sign-ins and failed attempts, password changes, ended sessions), so they can spot a sign-in
 * that was not theirs. Their own events only, the latest {@link shownEvents}.
 */
import type { Context } from 'koa';
import type { AuditEventType } from '../../ports';
import { requireSignedIn } from '../login/require-user';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { activityView } from '../views/activity';

const shownEvents = 50;
const shownTypes: AuditEventType[] = ['login.success', 'login.failure', 'user.updated', 'session.revoked'];

export const accountActivity: RouteFactory = (deps) => ({
  name: 'account-activity',
  method: 'GET',
  kind: 'page',
  path: '/account/activity',
  middleware: [
    requireSignedIn,
    async function showActivity(ctx: Context) {
      const page = await deps.audit.query({ userId: ctx.state.session.user!.id, type: shownTypes }, { limit: shownEvents });
      renderPage(ctx, { title: 'Recent activity', body: activityView({ events: page.items }) });
    },
  ],
});
