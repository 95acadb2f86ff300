/**
 * Request bodies, read with a hard size limit before any parsing (SECURITY.md "Resilience":
 * oversized bodies refused early with 413). Forms are `application/x-www-form-urlencoded`;
 * JSON is for the APIs. A body of another type is a 415.
 */
import type { Context, Middleware } from 'koa';
import { TesseraError } from '../../core/errors';

declare module 'koa' {
  interface Request {
    /** Parsed body: form fields (last value wins) or JSON. */
    body?: unknown;
  }
}

/**
 * The body as text, refused with 413 once it passes `limit` — at once when Content-Length says
 * so. Nothing past the limit is kept: the rest is discarded, and for no longer than the hub's
 * lingering close allows (src/hub/unread-bodies.ts). Listeners rather than `for await`, whose
 * early exit destroys the request and its socket, often before the 413 is written.
 */
function readLimited(ctx: Context, limit: number): Promise<string> {
  const tooLarge = () => new TesseraError('ERR_PAYLOAD_TOO_LARGE', 'Request body too large');
  if (Number(ctx.get('Content-Length') || '0') > limit) return Promise.reject(tooLarge());
  const req = ctx.req;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      // Still flowing, with no listener: what else arrives is dropped as it comes.
      stop();
      reject(tooLarge());
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** Parses urlencoded forms and JSON bodies of at most `limit` bytes into `ctx.request.body`. */
export function parseBody(limit: number): Middleware {
  return async function readBody(ctx, next) {
    if (ctx.method === 'GET' || ctx.method === 'HEAD' || ctx.method === 'OPTIONS') return next();
    const length = ctx.get('Content-Length');
    const hasBody = (length !== '' && length !== '0') || ctx.get('Transfer-Encoding') !== '';
    if (!hasBody) {
      ctx.request.body = {};
      return next();
    }
    if (ctx.is('application/x-www-form-urlencoded')) {
      ctx.request.body = Object.fromEntries(new URLSearchParams(await readLimited(ctx, limit)));
    } else if (ctx.is('application/json')) {
      const text = await readLimited(ctx, limit);
      try {
        ctx.request.body = text === '' ? {} : (JSON.parse(text) as unknown);
      } catch {
        throw new TesseraError('ERR_BAD_REQUEST', 'Malformed JSON body');
      }
    } else {
      throw new TesseraError('ERR_BAD_REQUEST', 'Unsupported content type', { status: 415 });
    }
    return next();
  };
}

/** One string field of a parsed form body ('' when absent or not a string). */
export function formField(ctx: Context, name: string): string {
  const body = ctx.request.body;
  if (typeof body !== 'object' || body === null) return '';
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : '';
}
