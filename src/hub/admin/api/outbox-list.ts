/** `GET /api/v1/admin/outbox`: back-channel logout deliveries, newest first, with the queue's stats. */
import type { Context } from 'koa';
import { z } from 'zod';
import type { DeliveryFilter } from '../../../ports';
import type { RouteFactory } from '../../route';
import { requireAdminScope } from './auth';
import { paging, parseInput, queryOf } from './input';

const query = z.object({
  status: z.enum(['pending', 'delivered', 'failed', 'dropped']).optional(),
  site: z.url().max(512).optional(),
  ...paging,
});

export const adminApiOutboxList: RouteFactory = (deps) => ({
  name: 'admin-api-outbox-list',
  method: 'GET',
  kind: 'plain',
  path: '/api/v1/admin/outbox',
  middleware: [
    requireAdminScope(deps, 'outbox:read'),
    async function listOutbox(ctx: Context) {
      const q = parseInput(query, queryOf(ctx));
      const filter: DeliveryFilter = { ...(q.status !== undefined ? { status: q.status } : {}), ...(q.site !== undefined ? { site: q.site } : {}) };
      const [page, stats] = await Promise.all([deps.outbox.list(filter, { limit: q.limit, cursor: q.cursor ?? null }), deps.outbox.stats()]);
      ctx.body = { items: page.items, nextCursor: page.nextCursor, stats };
    },
  ],
});
