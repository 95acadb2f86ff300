/**
 * Gives every request an id (kept from `X-Request-Id` when it is a short safe string, so a
 * proxy's id threads through; generated otherwise), a child logger carrying it, and one access
 * log line when the response is done. Paths are logged without query strings and with anything
 * shaped like a JWT masked: tokens travel in `/shared-session/<token>.js` and must never be
 * logged (DESIGN.md "The handoff token").
 *
 * This runs on every request, so it is kept cheap (bench/README.md, http-account): ids come
 * from a pool of random bytes, the child logger is made only when a handler logs, and the
 * access line skips the redaction paths (see `accessLogger`).
 */
import type { Middleware } from 'koa';
import { RandomPool } from '../../core/random-pool';
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
  ) {}

  get log(): Logger {
    this.child ??= this.logger.child({ requestId: this.requestId });
    return this.child;
  }
}

/**
 * The logger of access lines: `logger` without its redaction paths, the one costly step of an
 * access line (every value passes the `*.…` wildcard paths). Those paths censor values by field
 * name, and an access line's fields (request id, method, path, status, ms) are fixed strings and
 * numbers named otherwise, so the line is byte for byte what `logger` would write.
 */
function accessLogger(logger: Logger): Logger {
  return logger.child({}, { redact: [] });
}

export function requestContext(logger: Logger): Middleware {
  const access = accessLogger(logger);
  return async function withRequestContext(ctx, next) {
    const incoming = ctx.get('X-Request-Id');
    const requestId = safeRequestId.test(incoming) ? incoming : requestIds.take(12, 'base64url');
    // The other fields of DefaultState (session, cspNonce, …) are added by later middleware.
    ctx.state = new RequestState(requestId, logger) as unknown as typeof ctx.state;
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      access.info({ requestId, method: ctx.method, path: loggablePath(ctx.path), status: ctx.status, ms: Math.round(ms * 100) / 100 }, 'request');
    }
  };
}
