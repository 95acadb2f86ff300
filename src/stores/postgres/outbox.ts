/**
 * The back-channel logout outbox in PostgreSQL (distributed mode: every hub instance works the
 * same outbox).
 *
 * Schema (component `outbox`): `logout_outbox`, one row per delivery, keyed by an identity
 * column (never reused, so an old id or cursor never names a newer delivery); `lease_owner` is
 * the worker holding a pending delivery; times are Unix seconds in `bigint`; version 2 added the
 * status `dropped` and `dropped_at`. Statements are shared with the SQLite adapter
 * (src/stores/outbox-shared.ts). `claim` picks due rows with
 * `FOR UPDATE SKIP LOCKED`: instances claiming at once each lock different rows instead of
 * waiting for one another, and a row whose lease another instance just took is re-checked
 * against its new `next_attempt_at` and left out.
 */
import type { Pool, QueryResultRow } from 'pg';
import { nowSeconds, type Clock } from '../../core/clock';
import type { Delivery, DeliveryFilter, NewDelivery, Outbox, OutboxStats, Page, PageRequest } from '../../ports';
import { byId, claimSql, clipError, isDeliveryId, listingQuery, outboxSql, toDelivery, toDeliveryPage, toStats, type DeliveryRow, type StatsRow } from '../outbox-shared';
import { applyMigrations, runQuery } from './database';

/**
 * Append-only: each entry is one schema version (see `applyMigrations`). Exported for the upgrade
 * tests, which build a database as an older release left it from the first versions alone.
 */
export const outboxMigrations = [
  `CREATE TABLE logout_outbox (
    id bigint GENERATED ALWAYS AS IDENTITY,
    site text NOT NULL,
    uri text NOT NULL,
    sid text NOT NULL,
    sub text,
    reason text NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    created_at bigint NOT NULL,
    next_attempt_at bigint NOT NULL,
    lease_owner text,
    last_error text,
    delivered_at bigint,
    failed_at bigint,
    CONSTRAINT logout_outbox_pkey PRIMARY KEY (id),
    CONSTRAINT logout_outbox_status CHECK (status IN ('pending', 'delivered', 'failed'))
  );
  CREATE INDEX logout_outbox_due ON logout_outbox (status, next_attempt_at);
  CREATE INDEX logout_outbox_site ON logout_outbox (site, id);`,
  // Version 2: status `dropped` and `dropped_at`.
  `ALTER TABLE logout_outbox ADD COLUMN dropped_at bigint;
  ALTER TABLE logout_outbox DROP CONSTRAINT logout_outbox_status;
  ALTER TABLE logout_outbox ADD CONSTRAINT logout_outbox_status CHECK (status IN ('pending', 'delivered', 'failed', 'dropped'));`,
] as const;

/** All items in one statement (so all or none), in the order given. */
const insertSql = `INSERT INTO logout_outbox (site, uri, sid, sub, reason, created_at, next_attempt_at)
  SELECT site, uri, sid, sub, reason, $6, $6
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS item (site, uri, sid, sub, reason, position)
  ORDER BY position`;

const claimStatement = claimSql('FOR UPDATE SKIP LOCKED');

export interface PostgresOutboxOptions {
  /** Supplies `createdAt` of enqueued deliveries. */
  clock: Clock;
}

/**
 * `Outbox` over a pg pool. The pool belongs to the caller (users and the audit log share it), so
 * `close()` leaves it open.
 *
 * @example
 * const outbox = await PostgresOutbox.open(createPool(config.database.url), { clock: systemClock });
 * const due = await outbox.claim(nowSeconds(clock), 20, 'hub-1', 30);
 */
export class PostgresOutbox implements Outbox {
  private constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
  ) {}

  /** Applies pending migrations (safe with several instances starting at once), then opens. */
  static async open(pool: Pool, options: PostgresOutboxOptions): Promise<PostgresOutbox> {
    await applyMigrations(pool, 'outbox', outboxMigrations);
    return new PostgresOutbox(pool, options.clock);
  }

  private query<R extends QueryResultRow>(text: string, values: unknown[]): Promise<{ rows: R[]; rowCount: number }> {
    return runQuery<R>(this.pool, text, values);
  }

  /** Runs one UPDATE of a single delivery; true when it changed the row. */
  private async change(id: string, text: string, values: unknown[]): Promise<boolean> {
    if (!isDeliveryId(id)) return false;
    return (await this.query(text, values)).rowCount === 1;
  }

  async enqueue(items: NewDelivery[]): Promise<void> {
    if (items.length === 0) return;
    const column = (pick: (item: NewDelivery) => string | null) => items.map(pick);
    await this.query(insertSql, [
      column((item) => item.site),
      column((item) => item.uri),
      column((item) => item.sid),
      column((item) => item.sub),
      column((item) => item.reason),
      nowSeconds(this.clock),
    ]);
  }

  async claim(now: number, limit: number, workerId: string, leaseSeconds: number): Promise<Delivery[]> {
    const { rows } = await this.query<DeliveryRow>(claimStatement, [workerId, now + leaseSeconds, now, limit]);
    return byId(rows.map(toDelivery));
  }

  complete(id: string, workerId: string, now: number): Promise<boolean> {
    return this.change(id, outboxSql.complete, [now, id, workerId]);
  }

  fail(id: string, workerId: string, now: number, error: string, nextAttemptAt: number | null): Promise<boolean> {
    return nextAttemptAt === null
      ? this.change(id, outboxSql.giveUp, [now, clipError(error), id, workerId])
      : this.change(id, outboxSql.reschedule, [nextAttemptAt, clipError(error), id, workerId]);
  }

  drop(id: string, workerId: string, now: number, reason: string): Promise<boolean> {
    return this.change(id, outboxSql.drop, [now, clipError(reason), id, workerId]);
  }

  retarget(id: string, workerId: string, uri: string): Promise<boolean> {
    return this.change(id, outboxSql.retarget, [uri, id, workerId]);
  }

  async list(filter: DeliveryFilter, page: PageRequest): Promise<Page<Delivery>> {
    const query = listingQuery(filter, page);
    const { rows } = await this.query<DeliveryRow>(query.text, query.values);
    return toDeliveryPage(rows, query.limit);
  }

  retry(id: string, now: number): Promise<boolean> {
    return this.change(id, outboxSql.retry, [now, id]);
  }

  async stats(): Promise<OutboxStats> {
    const { rows } = await this.query<StatsRow>(outboxSql.stats, []);
    return toStats(rows[0] as StatsRow);
  }

  async purgeDelivered(olderThan: number): Promise<number> {
    return (await this.query(outboxSql.purgeDelivered, [olderThan, olderThan])).rowCount;
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1', []);
  }

  /** The pool belongs to whoever created it; there is nothing of the store's own to release. */
  async close(): Promise<void> {}
}
