/** `GET /admin/users`: users by e-mail address, with disable / enable, "end sessions" and delete, and the form to add one. */
import type { Context } from 'koa';
import { z } from 'zod';
import { renderPage } from '../../middleware/page';
import type { RouteFactory } from '../../route';
import { adminUsersView } from '../../views/admin';
import { parseInput, queryOf } from '../api/input';
import { requireAdmin } from './guard';
import { doneMessage, nextPageUrl, textInput } from './shared';

const query = z.object({ email: textInput, cursor: z.string().max(512).optional() });

export const adminUsersPage: RouteFactory = (deps) => ({
  name: 'admin-users-page',
  method: 'GET',
  kind: 'page',
  path: '/admin/users',
  middleware: [
    ...requireAdmin(deps),
    async function showUsers(ctx: Context) {
      const q = parseInput(query, queryOf(ctx));
      const page = await deps.users.list(q.email === undefined ? {} : { emailContains: q.email }, { limit: 50, cursor: q.cursor ?? null });
      renderPage(ctx, {
        title: 'Administration: users',
        body: adminUsersView({ users: page.items, email: q.email, next: nextPageUrl(ctx, page.nextCursor), csrf: ctx.state.sessionControl.csrfToken(), info: doneMessage(ctx), selfId: ctx.state.session.user!.id }),
      });
    },
  ],
});
