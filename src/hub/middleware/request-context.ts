/**
 * Gives every request an id (kept from `X-Request-Id` when it is a short safe string, so a
 * proxy's id threads through; generated otherwise), a child logger carrying it, and one access
 * log line when the response is done. Paths are logged without query strings and with anything
 * shaped like a JWT masked: tokens travel in `/shared-session/<token>.js` and must never be
 * logged (DESIGN.md "The handoff token").
 *
 * This runs on every request, so it is kept cheap (bench/README.md, http-account): ids come
 * from a pool of random bytes, the child logger is made only when a handler logs, and lines
 * the redaction paths cannot change skip them (the access line, {@link logRequestEvent}).
 */
import type { Context, Middleware } from 'koa';
import { RandomPool } from '../../core/random-pool';
import { redactionCannotApply, type Logger } from '../../log/logger';

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

/** 96-bit generated request ids (16 base64url characters); public, so drawn from a pool. */
const requestIds = new RandomPool();

/**
 * `ctx.state` of a hub request: the request id, and `log`, the child logger that carries it,
 * made on first use (most requests log nothing but the access line, and a child logger per
 * request was a measurable part of the hub's per-request floor). Routes add their own fields.
 */
class RequestState {
  private child: Logger | null = null;

  constructor(
    readonly requestId: string,
    private readonly logger: Logger,
    private readonly unredacted: Logger,
  ) {}

  get log(): Logger {
    this.child ??= this.logger.child({ requestId: this.requestId });
    return this.child;
  }

  /** See {@link logRequestEvent}. */
  event(level: 'info' | 'warn', fields: Readonly<Record<string, LogValue>>, msg: string): void {
    // The request id leads the fields, where the child logger's binding would put it.
    if (redactionCannotApply(fields)) this.unredacted[level]({ requestId: this.requestId, ...fields }, msg);
    else this.log[level](fields, msg);
  }
}

/** What a field of {@link logRequestEvent} may hold. */
export type LogValue = string | number | boolean | null;

/**
 * Writes one line for the current request, exactly as `ctx.state.log[level](fields, msg)` would,
 * for lines on hot paths (a beacon accepted or refused): a line the redaction paths cannot
 * change (`redactionCannotApply`: primitive values, no censored name) skips the redaction pass
 * and the per-request child logger. Anything else still goes through `ctx.state.log`.
 */
export function logRequestEvent(ctx: Context, level: 'info' | 'warn', fields: Readonly<Record<string, LogValue>>, msg: string): void {
  (ctx.state as unknown as RequestState).event(level, fields, msg);
}

export function requestContext(logger: Logger): Middleware {
  // `logger` without its redaction paths, for the lines they cannot change: the access line (its
  // fields are fixed strings and numbers under other names) and flat request events. Same bytes.
  const unredacted = logger.child({}, { redact: [] });
  return async function withRequestContext(ctx, next) {
    const incoming = ctx.req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && safeRequestId.test(incoming) ? incoming : requestIds.take(12, 'base64url');
    // The other fields of DefaultState (session, cspNonce, …) are added by later middleware.
    ctx.state = new RequestState(requestId, logger, unredacted) as unknown as typeof ctx.state;
    ctx.res.setHeader('X-Request-Id', requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      const ms = Math.round((performance.now() - started) * 100) / 100;
      unredacted.info({ requestId, method: ctx.req.method, path: loggablePath(ctx.path), status: ctx.res.statusCode, ms }, 'request');
    }
  };
}
