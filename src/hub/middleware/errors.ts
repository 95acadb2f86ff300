/**
 * One error middleware for the whole hub. A TesseraError answers with its status and stable
 * code; anything else is a 500 whose message never reaches the client. Client errors are
 * logged at `warn` with their code (never with a token or secret: the code is enough to
 * act on), server errors at `error` with the stack.
 */
import type { Context, Middleware } from 'koa';
import { escapeHtml } from '../../core/html/escape';

interface ErrorShape {
  status: number;
  code: string;
  message: string;
}

function describe(err: unknown): ErrorShape & { expose: boolean } {
  const e = err as { status?: unknown; statusCode?: unknown; code?: unknown; expose?: unknown; message?: unknown };
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
  const code = typeof e?.code === 'string' && e.code.startsWith('ERR_') ? e.code : status === 404 ? 'ERR_NOT_FOUND' : status >= 500 ? 'ERR_INTERNAL' : 'ERR_BAD_REQUEST';
  const expose = status < 500 && e?.expose !== false;
  const message = expose && typeof e?.message === 'string' ? e.message : status >= 500 ? 'Internal error' : 'Bad request';
  return { status, code, message, expose };
}

/**
 * An error answer never sets a cookie: whatever a route set before it failed (a new session, a
 * site cookie) is dropped, so a 4xx or 503 cannot leave the browser holding a session the
 * request did not finish creating (SECURITY.md "Resilience": fail closed). Deletions stay.
 */
function dropNewCookies(ctx: Context): void {
  const set = ctx.response.headers['set-cookie'];
  if (set === undefined) return;
  const deletions = (Array.isArray(set) ? set : [String(set)]).filter((c) => /;\s*Max-Age=0(;|$)/i.test(c));
  ctx.remove('Set-Cookie');
  if (deletions.length > 0) ctx.set('Set-Cookie', deletions);
}

function respond(ctx: Context, shape: ErrorShape): void {
  dropNewCookies(ctx);
  ctx.status = shape.status;
  ctx.set('Cache-Control', 'no-store');
  if (ctx.accepts('json', 'html') === 'html') {
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${shape.status}</title></head><body><h1>${shape.status}</h1><p>${escapeHtml(shape.message)}</p><p><code>${escapeHtml(shape.code)}</code></p></body></html>`;
  } else {
    ctx.body = { error: { code: shape.code, message: shape.message } };
  }
}

export function errorHandler(): Middleware {
  return async function handleErrors(ctx, next) {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) respond(ctx, { status: 404, code: 'ERR_NOT_FOUND', message: 'Not found' });
    } catch (err) {
      const shape = describe(err);
      if (shape.status >= 500) ctx.state.log?.error({ err, code: shape.code }, 'request failed');
      else ctx.state.log?.warn({ code: shape.code, status: shape.status }, 'request rejected');
      respond(ctx, shape);
    }
  };
}
