/** `GET /admin`: live sessions with filters (user e-mail, address, site, dates) and paging. */
import type { Context } from 'koa';
import { z } from 'zod';
import type { SessionFilter, SessionRecord } from '../../../ports';
import { renderPage } from '../../middleware/page';
import type { RouteFactory } from '../../route';
import { adminSessionsView } from '../../views/admin';
import { parseInput, queryOf } from '../api/input';
import { requireAdmin } from './guard';
import { dateInput, dayBound, defined, doneMessage, nextPageUrl, textInput } from './shared';

const query = z.object({
  email: textInput,
  ip: textInput,
  site: textInput,
  createdFrom: dateInput,
  createdTo: dateInput,
  lastSeenFrom: dateInput,
  lastSeenTo: dateInput,
  cursor: z.string().max(512).optional(),
});

export const adminSessionsPage: RouteFactory = (deps) => ({
  name: 'admin-sessions-page',
  method: 'GET',
  kind: 'page',
  path: '/admin',
  middleware: [
    ...requireAdmin(deps),
    async function showSessions(ctx: Context) {
      const q = parseInput(query, queryOf(ctx));
      const filters = defined({ email: q.email, ip: q.ip, site: q.site, createdFrom: q.createdFrom, createdTo: q.createdTo, lastSeenFrom: q.lastSeenFrom, lastSeenTo: q.lastSeenTo });
      let sessions: SessionRecord[] = [];
      let nextCursor: string | null = null;
      const user = q.email === undefined ? null : await deps.users.findByEmail(q.email);
      // An unknown e-mail address matches no session rather than every session.
      if (q.email === undefined || user !== null) {
        const filter: SessionFilter = defined({
          userId: user?.id,
          ip: q.ip,
          site: q.site,
          createdFrom: dayBound(q.createdFrom, false),
          createdTo: dayBound(q.createdTo, true),
          lastSeenFrom: dayBound(q.lastSeenFrom, false),
          lastSeenTo: dayBound(q.lastSeenTo, true),
        });
        const page = await deps.sessions.list(filter, { limit: 50, cursor: q.cursor ?? null });
        sessions = page.items;
        nextCursor = page.nextCursor;
      }
      const emails = new Map<string, string>();
      for (const id of new Set(sessions.flatMap((s) => (s.userId === null ? [] : [s.userId])))) {
        const found = await deps.users.findById(id);
        if (found !== null) emails.set(id, found.email);
      }
      renderPage(ctx, {
        title: 'Administration: sessions',
        body: adminSessionsView({ sessions, emails, filters, next: nextPageUrl(ctx, nextCursor), csrf: ctx.state.sessionControl.csrfToken(), info: doneMessage(ctx) }),
      });
    },
  ],
});
