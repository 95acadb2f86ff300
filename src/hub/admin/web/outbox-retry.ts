/** `POST /admin/outbox/:id/retry`: puts a failed or dropped delivery back in the queue, due now. */
import type { Context } from 'koa';
import { nowSeconds } from '../../../core/clock';
import { TesseraError } from '../../../core/errors';
import type { RouteFactory } from '../../route';
import { pathParam } from '../api/input';
import { recordAdminAction } from '../audit-action';
import { adminActor } from './guard';
import { adminPost } from './shared';

export const adminOutboxRetry: RouteFactory = (deps) => ({
  name: 'admin-outbox-retry',
  method: 'POST',
  kind: 'page',
  path: '/admin/outbox/:id/retry',
  middleware: [
    ...adminPost(deps, false),
    async function retryDelivery(ctx: Context) {
      const id = pathParam(ctx, 'id');
      if (!(await deps.outbox.retry(id, nowSeconds(deps.clock)))) throw new TesseraError('ERR_NOT_FOUND', 'No failed or dropped delivery with this id.');
      deps.deliveries.kick();
      await recordAdminAction(deps.audit, ctx, adminActor(ctx), 'outbox.retry', id);
      ctx.status = 303;
      ctx.redirect('/admin/outbox?done=retried');
    },
  ],
});
