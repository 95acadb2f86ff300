/**
 * `GET /readyz`: every backing store answers. 503 otherwise, so a load balancer stops sending
 * traffic to an instance that would have to refuse it (SECURITY.md "Resilience": fail closed).
 */
import type { Context } from 'koa';
import type { RouteFactory } from '../route';

/** How long one store may take to answer before the hub counts it as unreachable. */
const pingTimeoutMs = 2000;

export const readyz: RouteFactory = ({ readiness, logger }) => ({
  name: 'readyz',
  method: 'GET',
  kind: 'plain',
  path: '/readyz',
  middleware: [
    async function pingStores(ctx: Context) {
      ctx.set('Cache-Control', 'no-store');
      const results = await Promise.allSettled(readiness.map((store) => withTimeout(store.ping(), pingTimeoutMs)));
      const failed = results.filter((r) => r.status === 'rejected');
      if (failed.length === 0) {
        ctx.body = { status: 'ready' };
        return;
      }
      logger.warn({ code: 'ERR_STORE_UNAVAILABLE', failed: failed.length }, 'readiness check failed');
      ctx.status = 503;
      ctx.body = { status: 'unavailable', code: 'ERR_STORE_UNAVAILABLE' };
    },
  ],
});

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
