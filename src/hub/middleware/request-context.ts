/**
 * Gives every request an id (kept from `X-Request-Id` when it is a short safe string, so a
 * proxy's id threads through; generated otherwise), a child logger carrying it, and one access
 * log line when the response is done. Paths are logged without query strings and with anything
 * shaped like a JWT masked: tokens travel in `/shared-session/<token>.js` and must never be
 * logged (DESIGN.md "The handoff token").
 */
import { randomBytes } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../../log/logger';

const safeRequestId = /^[A-Za-z0-9._-]{8,64}$/;
/**
 * Anything with two dots between base64url runs, however short or damaged: a rejected token is
 * often a malformed one (`A.<payload>.<sig>`, `alg: none` with an empty signature) and must not
 * reach the log either. The price is that a name like `app.min.js` is masked too.
 */
const jwtShaped = /[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

/** The request path as it may appear in a log line. */
export function loggablePath(path: string): string {
  return path.replace(jwtShaped, '[token]');
}

export function requestContext(logger: Logger): Middleware {
  return async function withRequestContext(ctx, next) {
    const incoming = ctx.get('X-Request-Id');
    const requestId = safeRequestId.test(incoming) ? incoming : randomBytes(12).toString('base64url');
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      ctx.state.log.info({ method: ctx.method, path: loggablePath(ctx.path), status: ctx.status, ms: Math.round(ms * 100) / 100 }, 'request');
    }
  };
}
