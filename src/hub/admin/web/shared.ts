/** What the admin web routes share: middleware chains, date filters, paging links, notices. */
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { TesseraError } from '../../../core/errors';
import type { HubDeps } from '../../deps';
import { requireCsrfToken, requireSameOrigin } from '../../middleware/csrf';
import { requireAdmin, requireRecentPassword } from './guard';

/** Before every admin form post: same origin, an admin, a valid CSRF token, and for destructive ones a recent password. */
export function adminPost(deps: HubDeps, destructive: boolean): Middleware[] {
  return [requireSameOrigin(deps.config.publicUrl), ...requireAdmin(deps), requireCsrfToken, ...(destructive ? [requireRecentPassword(deps)] : [])];
}

/** A `YYYY-MM-DD` date input (empty counts as absent). */
export const dateInput = z
  .string()
  .regex(/^(\d{4}-\d{2}-\d{2})?$/, 'must be a date (YYYY-MM-DD)')
  .transform((s) => (s === '' ? undefined : s))
  .optional();

/** Optional text input (empty counts as absent). */
export const textInput = z
  .string()
  .max(512)
  .transform((s) => (s.trim() === '' ? undefined : s.trim()))
  .optional();

/** Unix seconds at the start (00:00:00 UTC) or end (23:59:59 UTC) of a day. */
export function dayBound(day: string | undefined, end: boolean): number | undefined {
  if (day === undefined) return undefined;
  const ms = Date.parse(`${day}T00:00:00Z`);
  if (Number.isNaN(ms)) throw new TesseraError('ERR_BAD_REQUEST', `Invalid date ${day}`);
  return ms / 1000 + (end ? 86399 : 0);
}

/** The link to the next page: this page's query with the next cursor. */
export function nextPageUrl(ctx: Context, nextCursor: string | null): string | null {
  if (nextCursor === null) return null;
  const params = new URLSearchParams(ctx.querystring);
  params.set('cursor', nextCursor);
  return `${ctx.path}?${params.toString()}`;
}

/** Drops the keys whose value is undefined (the store filters are exact optional types). */
export function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Confirmation messages after a form post, by the `done` query parameter of the redirect. */
const messages: Record<string, string> = {
  revoked: 'Session revoked on every site.',
  'user-revoked': 'Every session of that user is revoked.',
  disabled: 'User disabled; their sessions are revoked.',
  enabled: 'User enabled.',
  created: 'User created; they sign in with an e-mail link.',
  deleted: 'User deleted; their sessions are revoked.',
  'two-step-reset': 'Two-step sign-in is off for that user; they sign in with the first step alone.',
  rotated: 'A new key is published.',
  retried: 'Delivery queued again.',
};

export function doneMessage(ctx: Context): string | null {
  const done = ctx.query.done;
  return typeof done === 'string' ? (messages[done] ?? null) : null;
}
