/**
 * What the SQLite and PostgreSQL outboxes do the same way: their statements, turning a row into
 * a {@link Delivery}, filters, and keyset paging over the id (increasing in enqueue order, never
 * reused, so it alone orders and resumes a listing).
 *
 * Statements are written with PostgreSQL's `$n` parameters, each used once and in ascending
 * order, so the SQLite adapter runs them with every `$n` turned into a positional `?`
 * ({@link positional}).
 */
import { TesseraError } from '../core/errors';
import type { Delivery, DeliveryFilter, DeliveryStatus, OutboxStats, Page, PageRequest } from '../ports';
import { pageLimit } from './listing';

/** The columns `toDelivery` reads, in the order both adapters select them. */
export const deliveryColumns =
  'id, site, uri, sid, sub, reason, status, attempts, created_at, next_attempt_at, last_error, delivered_at, failed_at, dropped_at';

/**
 * Leases due deliveries: one UPDATE whose sub-select picks them, so picking and leasing are one
 * atomic statement. `lock` is what the sub-select adds to skip rows another transaction is
 * leasing (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite holds the write lock for the whole
 * statement and needs nothing). The lease end becomes `next_attempt_at`, so a delivery whose
 * worker died is due again when its lease ends. Parameters: worker, lease end, now, limit.
 */
export function claimSql(lock: string): string {
  return `UPDATE logout_outbox SET attempts = attempts + 1, lease_owner = $1, next_attempt_at = $2
    WHERE id IN (SELECT id FROM logout_outbox WHERE status = 'pending' AND next_attempt_at <= $3
                 ORDER BY next_attempt_at, id LIMIT $4 ${lock})
    RETURNING ${deliveryColumns}`;
}

/** The statements with the same text in both adapters. */
export const outboxSql = {
  /** Parameters: now, id, worker. */
  complete: `UPDATE logout_outbox SET status = 'delivered', delivered_at = $1, lease_owner = NULL
    WHERE id = $2 AND status = 'pending' AND lease_owner = $3`,
  /** Parameters: next attempt, error, id, worker. */
  reschedule: `UPDATE logout_outbox SET next_attempt_at = $1, last_error = $2, lease_owner = NULL
    WHERE id = $3 AND status = 'pending' AND lease_owner = $4`,
  /** Parameters: now, error, id, worker. */
  giveUp: `UPDATE logout_outbox SET status = 'failed', failed_at = $1, last_error = $2, lease_owner = NULL
    WHERE id = $3 AND status = 'pending' AND lease_owner = $4`,
  /** Parameters: now, reason, id, worker. */
  drop: `UPDATE logout_outbox SET status = 'dropped', dropped_at = $1, last_error = $2, lease_owner = NULL
    WHERE id = $3 AND status = 'pending' AND lease_owner = $4`,
  /** Parameters: uri, id, worker. */
  retarget: `UPDATE logout_outbox SET uri = $1 WHERE id = $2 AND status = 'pending' AND lease_owner = $3`,
  /** Parameters: now, id. */
  retry: `UPDATE logout_outbox SET status = 'pending', next_attempt_at = $1, failed_at = NULL, dropped_at = NULL, lease_owner = NULL
    WHERE id = $2 AND status IN ('failed', 'dropped')`,
  /** Parameters: older than (delivered), older than (dropped): the same value twice. */
  purgeDelivered: `DELETE FROM logout_outbox
    WHERE (status = 'delivered' AND delivered_at < $1) OR (status = 'dropped' AND dropped_at < $2)`,
  stats: `SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'failed') AS failed,
    min(created_at) FILTER (WHERE status = 'pending') AS oldest_pending_at FROM logout_outbox`,
} as const;

/** A statement of this file for SQLite: `$n` parameters become positional `?`. */
export function positional(sql: string): string {
  return sql.replace(/\$\d+/g, '?');
}

/** What the `stats` statement returns (pg returns `count` and `bigint` as strings). */
export interface StatsRow {
  pending: number | string;
  failed: number | string;
  oldest_pending_at: number | string | null;
}

export function toStats(row: StatsRow): OutboxStats {
  return { pending: Number(row.pending), failed: Number(row.failed), oldestPendingAt: optionalNumber(row.oldest_pending_at) };
}

/** A delivery row. Numbers come back as numbers from SQLite and as strings from pg (`bigint`). */
export interface DeliveryRow {
  id: number | string;
  site: string;
  uri: string;
  sid: string;
  sub: string | null;
  reason: string;
  status: DeliveryStatus;
  attempts: number;
  created_at: number | string;
  next_attempt_at: number | string;
  last_error: string | null;
  delivered_at: number | string | null;
  failed_at: number | string | null;
  dropped_at: number | string | null;
}

function optionalNumber(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

export function toDelivery(row: DeliveryRow): Delivery {
  return {
    id: String(row.id),
    site: row.site,
    uri: row.uri,
    sid: row.sid,
    sub: row.sub,
    reason: row.reason,
    status: row.status,
    attempts: Number(row.attempts),
    createdAt: Number(row.created_at),
    nextAttemptAt: Number(row.next_attempt_at),
    lastError: row.last_error,
    deliveredAt: optionalNumber(row.delivered_at),
    failedAt: optionalNumber(row.failed_at),
    droppedAt: optionalNumber(row.dropped_at),
  };
}

/** Deliveries as `claim` returns them: oldest first (the order they were enqueued). */
export function byId(deliveries: Delivery[]): Delivery[] {
  return deliveries.sort((a, b) => Number(a.id) - Number(b.id));
}

/** An id any adapter could have assigned: a positive integer below 2^53, in decimal. */
const deliveryId = /^[1-9][0-9]{0,15}$/;

/**
 * True when `id` could name a delivery. Ids come from URLs and the CLI; checking them first
 * answers "no such delivery" instead of a SQL type error.
 */
export function isDeliveryId(id: string): boolean {
  return deliveryId.test(id) && Number.isSafeInteger(Number(id));
}

/** Longest `lastError` kept: enough for a status or an error code, and bounded. */
const maxErrorLength = 200;

/** The failure text to store, cut to a bounded length. */
export function clipError(error: string): string {
  return error.length > maxErrorLength ? `${error.slice(0, maxErrorLength - 1)}…` : error;
}

/**
 * The query for one listing page, newest first: the filter, `id < cursor` after the first page,
 * and one row more than the page holds. A cursor no adapter made fails with `ERR_BAD_REQUEST`.
 */
export function listingQuery(filter: DeliveryFilter, page: PageRequest): { text: string; values: (string | number)[]; limit: number } {
  const limit = pageLimit(page.limit);
  const conditions: string[] = [];
  const values: (string | number)[] = [];
  const add = (condition: string, value: string | number) => {
    values.push(value);
    conditions.push(`${condition} $${values.length}`);
  };
  if (filter.status !== undefined) add('status =', filter.status);
  if (filter.site !== undefined) add('site =', filter.site);
  if (page.cursor !== undefined && page.cursor !== null && page.cursor !== '') {
    if (!isDeliveryId(page.cursor)) throw new TesseraError('ERR_BAD_REQUEST', 'malformed page cursor');
    add('id <', Number(page.cursor));
  }
  const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
  values.push(limit + 1);
  return { text: `SELECT ${deliveryColumns} FROM logout_outbox ${where} ORDER BY id DESC LIMIT $${values.length}`, values, limit };
}

/** Turns `limit + 1` fetched rows (newest first) into a page; the extra row says another exists. */
export function toDeliveryPage(rows: DeliveryRow[], limit: number): Page<Delivery> {
  const items = rows.slice(0, limit).map(toDelivery);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last !== undefined ? last.id : null };
}
