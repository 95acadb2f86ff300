/**
 * PostgreSQL connections and schema migrations for the distributed mode (users, audit log,
 * logout outbox). Several hub instances may start at once against one database, so migrations
 * run inside one transaction that holds a transaction-level advisory lock: the first instance
 * applies them, the others wait and then find nothing left to do.
 */
import { Pool, type PoolClient, type QueryConfig, type QueryResult, type QueryResultRow } from 'pg';
import { TesseraError } from '../../core/errors';
import { toStoreError } from './errors';

/**
 * Key of the advisory lock held while migrating ("tess" in ASCII). Advisory locks are shared by
 * the whole database, so the key only has to be distinct from other applications' keys.
 */
const migrationLockKey = 0x74657373;

/** An unquoted PostgreSQL identifier, so it can go into `search_path` without escaping. */
const schemaName = /^[a-z_][a-z0-9_]{0,62}$/;

/** How long to wait for a connection before failing with `ERR_STORE_UNAVAILABLE`. */
const connectTimeoutMs = 5_000;
/**
 * How long one statement of {@link runQuery} may take before it fails with
 * `ERR_STORE_UNAVAILABLE` (its connection is then dropped, not reused). Without it a lock left
 * open on a table, or a server that stopped answering on a live connection, holds the request,
 * the outbox worker and shutdown until TCP gives up (minutes); Redis has the same bound.
 * Migrations wait for the advisory lock without it.
 */
const queryTimeoutMs = 5_000;

export interface PoolOptions {
  /**
   * Schema for Tessera's tables (must exist), instead of a `?schema=` parameter of the URL;
   * default: the server's `search_path` (usually `public`).
   */
  schema?: string;
  /** Told about errors of idle connections (e.g. the server restarted); they are otherwise ignored. */
  onIdleError?: (err: Error) => void;
}

/**
 * A connection pool for a `postgres://` or `postgresql://` URL. `?schema=name` (or
 * `options.schema`) puts every connection's `search_path` on that schema, so one database can
 * hold several Tessera installations — and each test file its own random schema.
 *
 * @example
 * const pool = createPool('postgres://tessera@db.internal:5432/tessera?schema=hub');
 */
export function createPool(url: string, options: PoolOptions = {}): Pool {
  const parsed = new URL(url);
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new TesseraError('ERR_CONFIG_INVALID', `"${parsed.protocol}" is not a PostgreSQL URL (postgres://…)`);
  }
  const schema = options.schema ?? parsed.searchParams.get('schema');
  // pg would send an unknown URL parameter to the server as a setting, which refuses it.
  parsed.searchParams.delete('schema');
  if (schema !== null && !schemaName.test(schema)) {
    throw new TesseraError('ERR_CONFIG_INVALID', `schema "${schema}" must be a lower-case identifier ([a-z_][a-z0-9_]*, at most 63 characters)`);
  }
  const pool = new Pool({
    connectionString: parsed.toString(),
    connectionTimeoutMillis: connectTimeoutMs,
    // Set in the startup packet, so it holds from the very first query of every connection.
    ...(schema === null ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle connection that dies (server restart, network) emits 'error' on the pool; unhandled,
  // it would crash the process. The pool discards that connection and the next query reconnects.
  pool.on('error', (err) => options.onIdleError?.(err));
  return pool;
}

/**
 * One schema version: SQL, or for a change SQL alone cannot make (one that needs
 * `normalizeEmail`, say) a function given the migrating connection, inside its transaction.
 */
export type Migration = string | ((client: PoolClient) => Promise<void>);

/**
 * Brings `component`'s tables up to date: `migrations[i]` is version `i + 1`, applied once, in
 * order, and recorded in `schema_migrations`. Migrations are append-only; never edit one that
 * has shipped. Fails with `ERR_CONFIG_INVALID` when the database is newer than this code.
 *
 * @example
 * await applyMigrations(pool, 'users', [`CREATE TABLE users (…)`]);
 */
export async function applyMigrations(pool: Pool, component: string, migrations: readonly Migration[]): Promise<void> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw toStoreError(err);
  }
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      component text NOT NULL,
      version integer NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (component, version)
    )`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations WHERE component = $1', [component]);
    const applied = new Set(rows.map((row) => row.version));
    const newest = Math.max(0, ...applied);
    if (newest > migrations.length) {
      throw new TesseraError('ERR_CONFIG_INVALID', `the database's "${component}" schema is at version ${newest}, newer than this Tessera knows (${migrations.length}): upgrade Tessera`);
    }
    for (const [index, migration] of migrations.entries()) {
      if (applied.has(index + 1)) continue;
      if (typeof migration === 'string') await client.query(migration);
      else await migration(client);
      await client.query('INSERT INTO schema_migrations (component, version) VALUES ($1, $2)', [component, index + 1]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: Error) => {
      broken = rollbackErr;
    });
    throw toStoreError(err);
  } finally {
    // A connection that could not even roll back is destroyed rather than reused.
    client.release(broken);
  }
}

/**
 * Runs one statement on the pool; a server that cannot be reached becomes
 * `ERR_STORE_UNAVAILABLE` (see `toStoreError`). `rowCount` is 0 where pg reports none.
 *
 * @example
 * const { rows } = await runQuery<{ id: string }>(pool, 'SELECT id FROM users WHERE id = $1', [id]);
 */
export async function runQuery<R extends QueryResultRow>(pool: Pool, text: string, values: unknown[]): Promise<{ rows: R[]; rowCount: number }> {
  try {
    const result = await boundedQuery<R>(pool, text, values);
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  } catch (err) {
    throw toStoreError(err);
  }
}

/**
 * One statement on the pool, failing after {@link queryTimeoutMs}; pg's own error, for callers
 * that look at its SQLSTATE before {@link toStoreError}.
 *
 * @example
 * await boundedQuery(pool, 'INSERT INTO users (id) VALUES ($1)', [id]);
 */
export function boundedQuery<R extends QueryResultRow>(pool: Pool, text: string, values: unknown[]): Promise<QueryResult<R>> {
  // pg reads `query_timeout` per query as well as per pool; its types know only the latter.
  const query: QueryConfig & { query_timeout: number } = { text, values, query_timeout: queryTimeoutMs };
  return pool.query<R>(query);
}
