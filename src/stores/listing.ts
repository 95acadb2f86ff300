/**
 * Listing sessions, shared by the session store adapters: filters, order and keyset paging.
 * Listing order is newest first: `createdAt` descending, then `sid` descending. A cursor names
 * the last item of a page, so a page never repeats or skips an item even when sessions are
 * created or end between pages (offsets would shift).
 */
import { TesseraError } from '../core/errors';
import type { Page, SessionFilter, SessionRecord, SiteLink } from '../ports';

/** The largest page any adapter returns (ports.ts `PageRequest.limit`). */
export const MAX_PAGE_LIMIT = 500;

/** Where the previous page ended. */
export interface CursorPosition {
  createdAt: number;
  sid: string;
}

/** The page size to use: `limit` rounded down, at least 1, at most {@link MAX_PAGE_LIMIT}. */
export function pageLimit(limit: number): number {
  if (!Number.isFinite(limit)) return MAX_PAGE_LIMIT;
  return Math.min(MAX_PAGE_LIMIT, Math.max(1, Math.floor(limit)));
}

/** An opaque cursor for the item at `position` (base64url of `[createdAt, sid]`). */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.sid])).toString('base64url');
}

/**
 * The position a cursor names, or null for the first page. A cursor that no adapter made fails
 * with `ERR_BAD_REQUEST`: it comes from a query string.
 */
export function decodeCursor(cursor: string | null | undefined): CursorPosition | null {
  if (cursor === undefined || cursor === null || cursor === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || !Number.isSafeInteger(parsed[0]) || typeof parsed[1] !== 'string') {
    throw new TesseraError('ERR_BAD_REQUEST', 'malformed page cursor');
  }
  return { createdAt: parsed[0] as number, sid: parsed[1] };
}

/** True when a session at `item` comes after `position` in listing order. */
export function isAfter(item: CursorPosition, position: CursorPosition): boolean {
  return item.createdAt < position.createdAt || (item.createdAt === position.createdAt && item.sid < position.sid);
}

/** Listing order as a comparator: newest first, then `sid` descending. */
export function newestFirst(a: CursorPosition, b: CursorPosition): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.sid < b.sid ? 1 : a.sid > b.sid ? -1 : 0;
}

/** True when a record passes every filter that is set (ranges are inclusive at both ends). */
export function matchesFilter(record: SessionRecord, filter: SessionFilter): boolean {
  if (filter.userId !== undefined && record.userId !== filter.userId) return false;
  if (filter.ip !== undefined && record.ip !== filter.ip) return false;
  if (filter.site !== undefined && !record.sites.some((link) => link.site === filter.site)) return false;
  if (filter.createdFrom !== undefined && record.createdAt < filter.createdFrom) return false;
  if (filter.createdTo !== undefined && record.createdAt > filter.createdTo) return false;
  if (filter.lastSeenFrom !== undefined && record.lastSeenAt < filter.lastSeenFrom) return false;
  if (filter.lastSeenTo !== undefined && record.lastSeenAt > filter.lastSeenTo) return false;
  return true;
}

/**
 * A page from the matches that follow the cursor, in listing order. Adapters fetch one match
 * more than `limit` so that the last page, and only the last page, has a null `nextCursor`.
 */
export function toPage(matches: SessionRecord[], limit: number): Page<SessionRecord> {
  const items = matches.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: matches.length > limit && last !== undefined ? encodeCursor(last) : null };
}

/** Site links in the order every adapter returns them: by site origin. */
export function sortLinks(links: SiteLink[]): SiteLink[] {
  return links.sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : 0));
}
