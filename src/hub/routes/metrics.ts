/**
 * `GET /metrics`: the hub's Prometheus metrics (src/metrics/hub-metrics.ts) on the public port,
 * for an admin API token with the `metrics:read` scope (`tessera admin-tokens create --scope
 * metrics:read`; Prometheus sends it with `authorization.credentials_file`). The figures name
 * sites, key ids and traffic volumes: not for anyone on the internet.
 *
 * With `metrics.listen` set, the metrics live on that address only and this route is a 404, so
 * a forgotten token cannot expose them on the public port.
 */
import type { Context, Next } from 'koa';
import { TesseraError } from '../../core/errors';
import { writeExposition } from '../../metrics/listener';
import { requireAdminScope } from '../admin/api/auth';
import type { RouteFactory } from '../route';

export const metrics: RouteFactory = (deps) => ({
  name: 'metrics',
  method: 'GET',
  kind: 'plain',
  path: '/metrics',
  middleware: [
    async function servedOnMetricsListener(_ctx: Context, next: Next) {
      if (deps.config.metrics.listen !== null) throw new TesseraError('ERR_NOT_FOUND', 'Not found');
      await next();
    },
    requireAdminScope(deps, 'metrics:read'),
    async function exposeMetrics(ctx: Context) {
      const { contentType, body } = await writeExposition(deps.metrics);
      ctx.set('Cache-Control', 'no-store');
      ctx.type = contentType;
      ctx.body = body;
    },
  ],
});
