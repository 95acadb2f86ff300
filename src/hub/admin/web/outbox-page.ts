/** `GET /admin/outbox`: pending, failed, delivered or dropped back-channel logouts, with the queue totals. */
import type { Context } from 'koa';
import { z } from 'zod';
import { renderPage } from '../../middleware/page';
import type { RouteFactory } from '../../route';
import { adminOutboxView } from '../../views/admin';
import { parseInput, queryOf } from '../api/input';
import { requireAdmin } from './guard';
import { doneMessage, nextPageUrl } from './shared';

const query = z.object({ status: z.enum(['pending', 'failed', 'delivered', 'dropped']).default('failed'), cursor: z.string().max(512).optional() });

export const adminOutboxPage: RouteFactory = (deps) => ({
  name: 'admin-outbox-page',
  method: 'GET',
  kind: 'page',
  path: '/admin/outbox',
  middleware: [
    ...requireAdmin(deps),
    async function showOutbox(ctx: Context) {
      const q = parseInput(query, queryOf(ctx));
      const [page, stats] = await Promise.all([deps.outbox.list({ status: q.status }, { limit: 50, cursor: q.cursor ?? null }), deps.outbox.stats()]);
      renderPage(ctx, {
        title: 'Administration: outbox',
        body: adminOutboxView({ deliveries: page.items, stats, status: q.status, next: nextPageUrl(ctx, page.nextCursor), csrf: ctx.state.sessionControl.csrfToken(), info: doneMessage(ctx) }),
      });
    },
  ],
});
