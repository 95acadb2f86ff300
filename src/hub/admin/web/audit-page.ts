/** `GET /admin/audit`: the audit log with filters (type, user e-mail, session, site, actor, dates) and paging. */
import type { Context } from 'koa';
import { z } from 'zod';
import { AUDIT_EVENT_TYPES, type AuditEvent, type AuditFilter } from '../../../ports';
import { renderPage } from '../../middleware/page';
import type { RouteFactory } from '../../route';
import { adminAuditView } from '../../views/admin';
import { parseInput, queryOf } from '../api/input';
import { requireAdmin } from './guard';
import { dateInput, dayBound, defined, nextPageUrl, textInput } from './shared';

const query = z.object({
  type: z.union([z.literal(''), z.enum(AUDIT_EVENT_TYPES)]).optional(),
  email: textInput,
  sid: textInput,
  site: textInput,
  actor: textInput,
  from: dateInput,
  to: dateInput,
  cursor: z.string().max(512).optional(),
});

export const adminAuditPage: RouteFactory = (deps) => ({
  name: 'admin-audit-page',
  method: 'GET',
  kind: 'page',
  path: '/admin/audit',
  middleware: [
    ...requireAdmin(deps),
    async function showAudit(ctx: Context) {
      const q = parseInput(query, queryOf(ctx));
      const type = q.type === '' ? undefined : q.type;
      const user = q.email === undefined ? null : await deps.users.findByEmail(q.email);
      let events: AuditEvent[] = [];
      let nextCursor: string | null = null;
      // An unknown e-mail address matches no event rather than every event.
      if (q.email === undefined || user !== null) {
        const filter: AuditFilter = defined({ type, userId: user?.id, sid: q.sid, site: q.site, actor: q.actor, from: dayBound(q.from, false), to: dayBound(q.to, true) });
        const page = await deps.audit.query(filter, { limit: 100, cursor: q.cursor ?? null });
        events = page.items;
        nextCursor = page.nextCursor;
      }
      renderPage(ctx, {
        title: 'Administration: audit log',
        body: adminAuditView({ events, filters: defined({ type, email: q.email, sid: q.sid, site: q.site, actor: q.actor, from: q.from, to: q.to }), next: nextPageUrl(ctx, nextCursor) }),
      });
    },
  ],
});
