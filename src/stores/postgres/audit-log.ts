/**
 * The audit log in PostgreSQL (distributed mode: every hub instance appends to one log).
 *
 * Schema (component `audit`): `audit_log` with a `bigserial` id (a sequence never hands out an
 * id twice, so cursors and references stay unambiguous after a purge), `at` in Unix seconds as
 * `bigint`, `details` as `jsonb`, one index per filter column with `id` (each serves its filter
 * in listing order) and one on `at` (time ranges, retention). A trigger refuses UPDATE: the log
 * is append-only even to a hand-written statement.
 */
import type { Pool } from 'pg';
import { nowSeconds, type Clock } from '../../core/clock';
import type { AuditEvent, AuditFilter, AuditLog, NewAuditEvent, Page, PageRequest } from '../../ports';
import { auditPageQuery, checkedTime, newAuditEntry, toAuditPage, type AuditRow, type SqlBinder } from '../audit-log-shared';
import { applyMigrations, runQuery } from './database';

/** Append-only: each entry is one schema version (see `applyMigrations`). */
const migrations = [
  `CREATE TABLE audit_log (
    id bigserial NOT NULL,
    at bigint NOT NULL,
    type text NOT NULL,
    actor text,
    user_id text,
    sid text,
    site text,
    ip text,
    reason text,
    details jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT audit_log_pkey PRIMARY KEY (id)
  );
  CREATE INDEX audit_log_at ON audit_log (at);
  CREATE INDEX audit_log_type ON audit_log (type, id);
  CREATE INDEX audit_log_user_id ON audit_log (user_id, id);
  CREATE INDEX audit_log_sid ON audit_log (sid, id);
  CREATE INDEX audit_log_site ON audit_log (site, id);
  CREATE INDEX audit_log_actor ON audit_log (actor, id);
  CREATE FUNCTION audit_log_refuse_update() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
  CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_update();`,
] as const;

/** Numbered `$n` parameters; a list travels as one `text[]`. */
function postgresBinder(values: unknown[]): SqlBinder {
  const bind = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  return {
    value: bind,
    oneOf: (column, list) => `${column} = ANY (${bind(list)}::text[])`,
  };
}

export interface PostgresAuditLogOptions {
  /** Supplies `at` of appended events. */
  clock: Clock;
}

/**
 * `AuditLog` over a pg pool. The pool belongs to the caller (users, audit log and outbox share
 * it), so `close()` leaves it open.
 *
 * @example
 * const audit = await PostgresAuditLog.open(pool, { clock: systemClock });
 * await audit.append({ type: 'key.rotated', actor: 'cli', details: { kid } });
 */
export class PostgresAuditLog implements AuditLog {
  private constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
  ) {}

  /** Applies pending migrations (safe with several instances starting at once), then opens. */
  static async open(pool: Pool, options: PostgresAuditLogOptions): Promise<PostgresAuditLog> {
    await applyMigrations(pool, 'audit', migrations);
    return new PostgresAuditLog(pool, options.clock);
  }

  async append(event: NewAuditEvent): Promise<AuditEvent> {
    const entry = newAuditEntry(event, nowSeconds(this.clock));
    const { rows } = await runQuery<{ id: string }>(
      this.pool,
      `INSERT INTO audit_log (at, type, actor, user_id, sid, site, ip, reason, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
      [entry.at, entry.type, entry.actor, entry.userId, entry.sid, entry.site, entry.ip, entry.reason, JSON.stringify(entry.details)],
    );
    return { id: Number(rows[0]?.id), ...entry };
  }

  async query(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEvent>> {
    const values: unknown[] = [];
    const { sql, limit } = auditPageQuery(filter, page, postgresBinder(values));
    const { rows } = await runQuery<AuditRow>(this.pool, sql, values);
    return toAuditPage(rows, limit);
  }

  async purgeOlderThan(at: number): Promise<number> {
    return (await runQuery(this.pool, 'DELETE FROM audit_log WHERE at < $1', [checkedTime(at, 'at')])).rowCount;
  }

  async ping(): Promise<void> {
    await runQuery(this.pool, 'SELECT 1', []);
  }

  /** The pool belongs to whoever created it; there is nothing of the store's own to release. */
  async close(): Promise<void> {}
}
