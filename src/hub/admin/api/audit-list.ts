/** `GET /api/v1/admin/audit`: audit events, newest first, filtered, one page at a time. */
import type { Context } from 'koa';
import { z } from 'zod';
import { AUDIT_EVENT_TYPES, type AuditFilter } from '../../../ports';
import type { RouteFactory } from '../../route';
import { requireAdminScope } from './auth';
import { paging, parseInput, queryOf, unixSeconds } from './input';

const query = z.object({
  /** One type or a comma-separated list. */
  type: z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(z.enum(AUDIT_EVENT_TYPES)).min(1))
    .optional(),
  user: z.string().min(1).max(64).optional(),
  sid: z.string().min(1).max(64).optional(),
  site: z.url().max(512).optional(),
  actor: z.string().min(1).max(128).optional(),
  from: unixSeconds.optional(),
  to: unixSeconds.optional(),
  ...paging,
});

export const adminApiAuditList: RouteFactory = (deps) => ({
  name: 'admin-api-audit-list',
  method: 'GET',
  kind: 'plain',
  path: '/api/v1/admin/audit',
  middleware: [
    requireAdminScope(deps, 'audit:read'),
    async function listAudit(ctx: Context) {
      const { user, limit, cursor, ...rest } = parseInput(query, queryOf(ctx));
      const filter: AuditFilter = Object.fromEntries(Object.entries({ ...rest, userId: user }).filter(([, v]) => v !== undefined));
      const page = await deps.audit.query(filter, { limit, cursor: cursor ?? null });
      ctx.body = { items: page.items, nextCursor: page.nextCursor };
    },
  ],
});
