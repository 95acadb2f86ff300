/**
 * Validation of admin API input with zod: anything that does not parse is a 400
 * `ERR_BAD_REQUEST` naming the offending field, before any store is touched.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import { TesseraError } from '../../../core/errors';

/** Parses `value` with `schema`, or throws `ERR_BAD_REQUEST`. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'input' : issue.path.join('.');
    throw new TesseraError('ERR_BAD_REQUEST', `Invalid ${where}: ${issue?.message ?? 'malformed'}`);
  }
  return result.data;
}

/** The query string of a GET, for parsing (repeated parameters keep their last value). */
export function queryOf(ctx: Context): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(ctx.query)) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (typeof last === 'string') out[key] = last;
  }
  return out;
}

/** Unix seconds in a query string. */
export const unixSeconds = z.coerce.number().int().nonnegative();

/** Paging parameters every list route takes. */
export const paging = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(512).optional(),
};

/** A path parameter of a koa-router route. */
export function pathParam(ctx: Context, name: string): string {
  const params = (ctx as Context & { params?: Record<string, string> }).params ?? {};
  return params[name] ?? '';
}
