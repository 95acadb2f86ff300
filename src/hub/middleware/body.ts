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

async function readLimited(ctx: Context, limit: number): Promise<string> {
  const declared = Number(ctx.get('Content-Length') || '0');
  if (declared > limit) throw new TesseraError('ERR_PAYLOAD_TOO_LARGE', 'Request body too large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      // Stop reading and let Node close the connection after the 413 is sent; destroying the
      // socket here would lose the answer.
      ctx.set('Connection', 'close');
      throw new TesseraError('ERR_PAYLOAD_TOO_LARGE', 'Request body too large');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
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
