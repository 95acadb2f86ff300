/**
 * The audit log in the embedded SQLite file.
 *
 * Schema (component `audit`): `audit_log` with `id INTEGER PRIMARY KEY AUTOINCREMENT` (the
 * keyword makes SQLite never reuse an id, even after the newest rows are purged, so cursors and
 * references stay unambiguous), `at` in Unix seconds, `details` as JSON text, one index per
 * filter column with `id` (each serves its filter in listing order) and one on `at` (time ranges,
 * retention). A trigger refuses UPDATE: the log is append-only even to a hand-written statement.
 */
import type Database from 'better-sqlite3';
import { nowSeconds, type Clock } from '../../core/clock';
import type { AuditEvent, AuditFilter, AuditLog, NewAuditEvent, Page, PageRequest } from '../../ports';
import { auditPageQuery, checkedTime, newAuditEntry, toAuditPage, type AuditRow, type SqlBinder } from '../audit-log-shared';
import { applyMigrations, runStatements } from './database';

/** Append-only: each entry is one schema version (see `applyMigrations`). */
const migrations = [
  `CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    type TEXT NOT NULL,
    actor TEXT,
    user_id TEXT,
    sid TEXT,
    site TEXT,
    ip TEXT,
    reason TEXT,
    details TEXT NOT NULL DEFAULT '{}'
  ) STRICT;
  CREATE INDEX audit_log_at ON audit_log (at);
  CREATE INDEX audit_log_type ON audit_log (type, id);
  CREATE INDEX audit_log_user_id ON audit_log (user_id, id);
  CREATE INDEX audit_log_sid ON audit_log (sid, id);
  CREATE INDEX audit_log_site ON audit_log (site, id);
  CREATE INDEX audit_log_actor ON audit_log (actor, id);
  CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;`,
] as const;

/** Positional `?` parameters; a list travels as one JSON array read back by `json_each`. */
function sqliteBinder(values: (string | number)[]): SqlBinder {
  return {
    value(value) {
      values.push(value);
      return '?';
    },
    oneOf(column, list) {
      values.push(JSON.stringify(list));
      return `${column} IN (SELECT value FROM json_each(?))`;
    },
  };
}

export interface SqliteAuditLogOptions {
  /** Supplies `at` of appended events. */
  clock: Clock;
}

/**
 * `AuditLog` over an open SQLite database (see `openDatabase`). Applies its migrations on
 * construction. The database belongs to the caller (sessions, users and the outbox share the
 * file), so `close()` leaves it open.
 *
 * @example
 * const audit = new SqliteAuditLog(openDatabase('data/tessera.db'), { clock: systemClock });
 * await audit.append({ type: 'session.revoked', actor: 'cli', sid, reason: 'admin' });
 */
export class SqliteAuditLog implements AuditLog {
  private readonly clock: Clock;
  private readonly insert: Database.Statement<[number, string, string | null, string | null, string | null, string | null, string | null, string | null, string]>;
  private readonly purge: Database.Statement<[number]>;
  private readonly select1: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    options: SqliteAuditLogOptions,
  ) {
    this.clock = options.clock;
    applyMigrations(db, 'audit', migrations);
    this.insert = db.prepare('INSERT INTO audit_log (at, type, actor, user_id, sid, site, ip, reason, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.purge = db.prepare('DELETE FROM audit_log WHERE at < ?');
    this.select1 = db.prepare('SELECT 1');
  }

  async append(event: NewAuditEvent): Promise<AuditEvent> {
    const entry = newAuditEntry(event, nowSeconds(this.clock));
    const { lastInsertRowid } = runStatements(this.db, () =>
      this.insert.run(entry.at, entry.type, entry.actor, entry.userId, entry.sid, entry.site, entry.ip, entry.reason, JSON.stringify(entry.details)),
    );
    return { id: Number(lastInsertRowid), ...entry };
  }

  async query(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEvent>> {
    const values: (string | number)[] = [];
    const { sql, limit } = auditPageQuery(filter, page, sqliteBinder(values));
    const rows = runStatements(this.db, () => this.db.prepare<(string | number)[], AuditRow>(sql).all(...values));
    return toAuditPage(rows, limit);
  }

  async purgeOlderThan(at: number): Promise<number> {
    const before = checkedTime(at, 'at');
    return runStatements(this.db, () => this.purge.run(before)).changes;
  }

  async ping(): Promise<void> {
    runStatements(this.db, () => this.select1.get());
  }

  /** The database belongs to whoever opened it; there is nothing of the store's own to release. */
  async close(): Promise<void> {}
}
