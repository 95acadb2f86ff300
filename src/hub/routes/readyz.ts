/**
 * `GET /readyz`: every backing store answers. 503 otherwise, so a load balancer stops sending
 * traffic to an instance that would have to refuse it (SECURITY.md "Resilience": fail closed),
 * and sends it again by itself once the stores answer: nothing is cached between calls.
 *
 * The answer names the stores by role (`{"failed": ["sessions", "replay"]}`), which tells an
 * operator where to look; the driver's error, which may name hosts, goes to the log only.
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
      const results = await Promise.allSettled(readiness.map((check) => withTimeout(check.ping(), pingTimeoutMs)));
      const failed = readiness.filter((_, i) => results[i]!.status === 'rejected').map((check) => check.store);
      if (failed.length === 0) {
        ctx.body = { status: 'ready' };
        return;
      }
      const causes = results.flatMap((r) => (r.status === 'rejected' ? [describe(r.reason)] : []));
      logger.warn({ code: 'ERR_STORE_UNAVAILABLE', failed, causes }, 'readiness check failed');
      ctx.status = 503;
      ctx.body = { status: 'unavailable', code: 'ERR_STORE_UNAVAILABLE', failed };
    },
  ],
});

/** The error's code and message, or its cause's when the store wrapped it (`ERR_STORE_UNAVAILABLE`). */
function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; cause?: { message?: unknown } };
  const message = typeof e?.cause?.message === 'string' ? e.cause.message : typeof e?.message === 'string' ? e.message : String(err);
  return typeof e?.code === 'string' ? `${e.code}: ${message}` : message;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
