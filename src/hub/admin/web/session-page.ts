/** `GET /admin/sessions/:sid`: one session: device, address, times, sites reached and its audit history (handoffs, logins). */
import type { Context } from 'koa';
import { TesseraError } from '../../../core/errors';
import { isSessionId } from '../../../core/sessions/session';
import { renderPage } from '../../middleware/page';
import type { RouteFactory } from '../../route';
import { adminSessionView } from '../../views/admin';
import { pathParam } from '../api/input';
import { requireAdmin } from './guard';

export const adminSessionPage: RouteFactory = (deps) => ({
  name: 'admin-session-page',
  method: 'GET',
  kind: 'page',
  path: '/admin/sessions/:sid',
  middleware: [
    ...requireAdmin(deps),
    async function showSession(ctx: Context) {
      const sid = pathParam(ctx, 'sid');
      const session = isSessionId(sid) ? await deps.sessions.get(sid) : null;
      if (session === null) throw new TesseraError('ERR_NOT_FOUND', 'No such session.');
      const user = session.userId === null ? null : await deps.users.findById(session.userId);
      const events = (await deps.audit.query({ sid }, { limit: 200 })).items;
      renderPage(ctx, { title: 'Administration: session', body: adminSessionView({ session, user, events, csrf: ctx.state.sessionControl.csrfToken() }) });
    },
  ],
});
