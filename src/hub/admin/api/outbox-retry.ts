/** `POST /api/v1/admin/outbox/:id/retry`: puts a failed or dropped delivery back in the queue, due now. */
import type { Context } from 'koa';
import { nowSeconds } from '../../../core/clock';
import { TesseraError } from '../../../core/errors';
import type { RouteFactory } from '../../route';
import { recordAdminAction } from '../audit-action';
import { requireAdminScope, tokenActor } from './auth';
import { pathParam } from './input';

export const adminApiOutboxRetry: RouteFactory = (deps) => ({
  name: 'admin-api-outbox-retry',
  method: 'POST',
  kind: 'plain',
  path: '/api/v1/admin/outbox/:id/retry',
  middleware: [
    requireAdminScope(deps, 'outbox:retry'),
    async function retryDelivery(ctx: Context) {
      const id = pathParam(ctx, 'id');
      if (!(await deps.outbox.retry(id, nowSeconds(deps.clock)))) throw new TesseraError('ERR_NOT_FOUND', 'No failed or dropped delivery with this id');
      deps.deliveries.kick();
      await recordAdminAction(deps.audit, ctx, tokenActor(ctx), 'outbox.retry', id);
      ctx.body = { retried: id };
    },
  ],
});
