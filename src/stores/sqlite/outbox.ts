/**
 * The back-channel logout outbox in the embedded SQLite file.
 *
 * Schema (component `outbox`): `logout_outbox`, one row per delivery, keyed by an AUTOINCREMENT
 * id (never reused, even after `purgeDelivered`, so an old id or cursor never names a newer
 * delivery); `lease_owner` is the worker holding a pending delivery; times are Unix seconds.
 * Version 2 added the status `dropped` and `dropped_at`.
 * Statements are shared with the PostgreSQL adapter (src/stores/outbox-shared.ts). A write
 * statement holds SQLite's write lock from its first read to its commit, so `claim`, one
 * `UPDATE … RETURNING`, leases each row to one caller even across processes sharing the file.
 */
import type Database from 'better-sqlite3';
import { nowSeconds, type Clock } from '../../core/clock';
import type { Delivery, DeliveryFilter, NewDelivery, Outbox, OutboxStats, Page, PageRequest } from '../../ports';
import {
  byId,
  claimSql,
  clipError,
  isDeliveryId,
  listingQuery,
  outboxSql,
  positional,
  toDelivery,
  toDeliveryPage,
  toStats,
  type DeliveryRow,
  type StatsRow,
} from '../outbox-shared';
import { applyMigrations, runStatements } from './database';

/**
 * Append-only: each entry is one schema version (see `applyMigrations`). Exported for the upgrade
 * tests, which build a database as an older release left it from the first versions alone.
 */
export const outboxMigrations = [
  `CREATE TABLE logout_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    uri TEXT NOT NULL,
    sid TEXT NOT NULL,
    sub TEXT,
    reason TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    last_error TEXT,
    delivered_at INTEGER,
    failed_at INTEGER
  ) STRICT;
  CREATE INDEX logout_outbox_due ON logout_outbox (status, next_attempt_at);
  CREATE INDEX logout_outbox_site ON logout_outbox (site, id);`,
  // Version 2: status `dropped` and `dropped_at`. SQLite cannot change a CHECK constraint in
  // place, so the table is rebuilt, keeping its AUTOINCREMENT counter (ids are never reused,
  // even those purged since).
  `CREATE TABLE logout_outbox_v2 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    uri TEXT NOT NULL,
    sid TEXT NOT NULL,
    sub TEXT,
    reason TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'dropped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    last_error TEXT,
    delivered_at INTEGER,
    failed_at INTEGER,
    dropped_at INTEGER
  ) STRICT;
  INSERT INTO logout_outbox_v2 (id, site, uri, sid, sub, reason, status, attempts, created_at, next_attempt_at, lease_owner, last_error, delivered_at, failed_at)
    SELECT id, site, uri, sid, sub, reason, status, attempts, created_at, next_attempt_at, lease_owner, last_error, delivered_at, failed_at FROM logout_outbox;
  DELETE FROM sqlite_sequence WHERE name = 'logout_outbox_v2';
  INSERT INTO sqlite_sequence (name, seq) SELECT 'logout_outbox_v2', seq FROM sqlite_sequence WHERE name = 'logout_outbox';
  DROP TABLE logout_outbox;
  ALTER TABLE logout_outbox_v2 RENAME TO logout_outbox;
  CREATE INDEX logout_outbox_due ON logout_outbox (status, next_attempt_at);
  CREATE INDEX logout_outbox_site ON logout_outbox (site, id);`,
] as const;

type Value = string | number | null;

/** The statements every call uses, prepared once. */
function prepareStatements(db: Database.Database) {
  const statement = (sql: string) => db.prepare<Value[]>(positional(sql));
  return {
    insert: db.prepare<[string, string, string, string | null, string, number, number]>(
      'INSERT INTO logout_outbox (site, uri, sid, sub, reason, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    claim: db.prepare<Value[], DeliveryRow>(positional(claimSql(''))),
    complete: statement(outboxSql.complete),
    reschedule: statement(outboxSql.reschedule),
    giveUp: statement(outboxSql.giveUp),
    drop: statement(outboxSql.drop),
    retarget: statement(outboxSql.retarget),
    retry: statement(outboxSql.retry),
    purgeDelivered: statement(outboxSql.purgeDelivered),
    stats: db.prepare<[], StatsRow>(outboxSql.stats),
    ping: db.prepare('SELECT 1'),
  };
}

export interface SqliteOutboxOptions {
  /** Supplies `createdAt` of enqueued deliveries. */
  clock: Clock;
}

/**
 * `Outbox` over an open SQLite database (see `openDatabase`). Applies its migrations on
 * construction. The database belongs to the caller (sessions, users and the audit log share the
 * file), so `close()` leaves it open.
 *
 * @example
 * const outbox = new SqliteOutbox(openDatabase('data/tessera.db'), { clock: systemClock });
 * await outbox.enqueue([{ site, uri: site.backchannelLogoutUri, sid, sub, reason: 'logout' }]);
 */
export class SqliteOutbox implements Outbox {
  private readonly clock: Clock;
  private readonly statements: ReturnType<typeof prepareStatements>;
  private readonly insertAll: (items: NewDelivery[], now: number) => void;

  constructor(
    private readonly db: Database.Database,
    options: SqliteOutboxOptions,
  ) {
    this.clock = options.clock;
    applyMigrations(db, 'outbox', outboxMigrations);
    this.statements = prepareStatements(db);
    this.insertAll = db.transaction((items: NewDelivery[], now: number) => {
      for (const item of items) this.statements.insert.run(item.site, item.uri, item.sid, item.sub, item.reason, now, now);
    });
  }

  /** Runs statements, turning failures of the file into `ERR_STORE_UNAVAILABLE`. */
  private run<T>(action: () => T): T {
    return runStatements(this.db, action);
  }

  /** Runs one UPDATE of a single delivery; true when it changed the row. */
  private change(id: string, statement: Database.Statement<Value[]>, values: Value[]): boolean {
    return isDeliveryId(id) && this.run(() => statement.run(...values).changes === 1);
  }

  async enqueue(items: NewDelivery[]): Promise<void> {
    this.run(() => this.insertAll(items, nowSeconds(this.clock)));
  }

  async claim(now: number, limit: number, workerId: string, leaseSeconds: number): Promise<Delivery[]> {
    return byId(this.run(() => this.statements.claim.all(workerId, now + leaseSeconds, now, limit)).map(toDelivery));
  }

  async complete(id: string, workerId: string, now: number): Promise<boolean> {
    return this.change(id, this.statements.complete, [now, Number(id), workerId]);
  }

  async fail(id: string, workerId: string, now: number, error: string, nextAttemptAt: number | null): Promise<boolean> {
    return nextAttemptAt === null
      ? this.change(id, this.statements.giveUp, [now, clipError(error), Number(id), workerId])
      : this.change(id, this.statements.reschedule, [nextAttemptAt, clipError(error), Number(id), workerId]);
  }

  async drop(id: string, workerId: string, now: number, reason: string): Promise<boolean> {
    return this.change(id, this.statements.drop, [now, clipError(reason), Number(id), workerId]);
  }

  async retarget(id: string, workerId: string, uri: string): Promise<boolean> {
    return this.change(id, this.statements.retarget, [uri, Number(id), workerId]);
  }

  async list(filter: DeliveryFilter, page: PageRequest): Promise<Page<Delivery>> {
    const query = listingQuery(filter, page);
    const rows = this.run(() => this.db.prepare<Value[], DeliveryRow>(positional(query.text)).all(...query.values));
    return toDeliveryPage(rows, query.limit);
  }

  async retry(id: string, now: number): Promise<boolean> {
    return this.change(id, this.statements.retry, [now, Number(id)]);
  }

  async stats(): Promise<OutboxStats> {
    return toStats(this.run(() => this.statements.stats.get()) as StatsRow);
  }

  async purgeDelivered(olderThan: number): Promise<number> {
    return this.run(() => this.statements.purgeDelivered.run(olderThan, olderThan)).changes;
  }

  async ping(): Promise<void> {
    this.run(() => this.statements.ping.get());
  }

  /** The database belongs to whoever opened it; there is nothing of the store's own to release. */
  async close(): Promise<void> {}
}
