/**
 * The embedded default store: one SQLite file (`data/tessera.db`) shared by sessions, the jti
 * replay cache, users, the audit log and the logout outbox. Each component owns its tables and
 * brings them up to date with {@link applyMigrations} under its own component name.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { TesseraError } from '../../core/errors';

/**
 * How long a statement waits for another connection's write lock (the CLI's `sessions purge`
 * next to a running hub) before failing with SQLITE_BUSY.
 */
const busyTimeoutMs = 5_000;

/**
 * Opens (creating it and its directory if needed) the SQLite file at `file`, or an in-memory
 * database for `:memory:`. Settings, and why:
 * - `journal_mode = WAL`: readers never block the writer and vice versa;
 * - `synchronous = NORMAL`: with WAL, a power cut may lose the last commits but never corrupts
 *   the file, and commits do not wait for an fsync each;
 * - `foreign_keys = ON`: site links go with their session (SQLite leaves this off by default);
 * - `busy_timeout`: concurrent writers wait instead of failing at once.
 *
 * Fails with `ERR_STORE_UNAVAILABLE` when the file cannot be opened.
 *
 * @example
 * const db = openDatabase('data/tessera.db');
 * const sessions = new SqliteSessionStore(db, { clock: systemClock });
 */
export function openDatabase(file: string): Database.Database {
  try {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    return db;
  } catch (err) {
    throw new TesseraError('ERR_STORE_UNAVAILABLE', `cannot open SQLite database ${file}`, { cause: err });
  }
}

/**
 * One schema version: SQL, or for a change SQL alone cannot make (one that needs
 * `normalizeEmail`, say) a function given the database, run inside the version's transaction.
 * What the function returns, if anything, is called once that transaction is committed: each
 * version commits on its own, so what it has to tell (the accounts a re-keying left behind)
 * must be told then, not after the last version, which may fail and leave this one applied
 * for good (the next start skips it, and could never tell).
 */
export type Migration = string | ((db: Database.Database) => (() => void) | undefined);

/**
 * Brings `component`'s tables up to date: `migrations[i]` is version `i + 1`, applied once, in
 * order, each in its own transaction together with its row in `schema_migrations`. Migrations
 * are append-only; never edit one that has shipped. A transaction that takes the write lock
 * first (IMMEDIATE) and re-checks the version keeps two processes starting at once from applying
 * the same migration twice. Fails with `ERR_CONFIG_INVALID` when the file's schema is newer than
 * this code, `ERR_STORE_UNAVAILABLE` when SQLite fails.
 *
 * @example
 * applyMigrations(db, 'audit', [`CREATE TABLE audit_log (…)`]);
 */
export function applyMigrations(db: Database.Database, component: string, migrations: readonly Migration[]): void {
  try {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      component TEXT NOT NULL,
      version INTEGER NOT NULL,
      PRIMARY KEY (component, version)
    ) WITHOUT ROWID`);
    const newestStatement = db.prepare<[string], { newest: number | null }>('SELECT max(version) AS newest FROM schema_migrations WHERE component = ?');
    const record = db.prepare<[string, number]>('INSERT INTO schema_migrations (component, version) VALUES (?, ?)');
    const newest = (): number => newestStatement.get(component)?.newest ?? 0;
    const current = newest();
    if (current > migrations.length) {
      throw new TesseraError('ERR_CONFIG_INVALID', `the database's "${component}" schema is at version ${current}, newer than this Tessera knows (${migrations.length}): upgrade Tessera`);
    }
    const apply = db.transaction((version: number, migration: Migration): (() => void) | undefined => {
      if (newest() >= version) return undefined;
      let committed: (() => void) | undefined;
      if (typeof migration === 'string') db.exec(migration);
      else committed = migration(db);
      record.run(component, version);
      return committed;
    });
    migrations.forEach((migration, index) => apply.immediate(index + 1, migration)?.());
  } catch (err) {
    if (err instanceof TesseraError) throw err;
    throw new TesseraError('ERR_STORE_UNAVAILABLE', `migrating the "${component}" tables failed`, { cause: err });
  }
}

/** SQLite result codes that mean "the file cannot be used right now", not "the request is wrong". */
const unavailableCode = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|CORRUPT|NOTADB)/;

/**
 * Runs statements on `db`, turning failures of the file (not of the request) into
 * `ERR_STORE_UNAVAILABLE` with the driver error as `cause`, so the hub answers 503. Anything
 * else (a constraint, a bug) is rethrown as it is, for the caller to map or to surface.
 *
 * @example
 * const row = runStatements(db, () => byId.get(id));
 */
export function runStatements<T>(db: Database.Database, action: () => T): T {
  try {
    return action();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // A closed database throws a TypeError without a code.
    if (!db.open || (typeof code === 'string' && unavailableCode.test(code))) {
      throw new TesseraError('ERR_STORE_UNAVAILABLE', 'SQLite is unavailable', { cause: err });
    }
    throw err;
  }
}
