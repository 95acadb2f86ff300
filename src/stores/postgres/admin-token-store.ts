/**
 * Admin API tokens in PostgreSQL (distributed mode: a token works at every hub instance).
 *
 * Schema (component `admin_tokens`): `admin_tokens` keyed by a random id (collation "C", so
 * listings order like SQLite's byte order), with the UNIQUE SHA-256 (hex) of the token — never
 * the token — that authentication looks rows up by; `scopes` is a `text[]`; times are Unix
 * seconds in `bigint`. Revoking sets `revoked_at` and keeps the row, so `list` still shows who
 * had which token.
 */
import type { Pool } from 'pg';
import { nowSeconds, type Clock } from '../../core/clock';
import type { AdminTokenRecord, AdminTokenStore, CreatedAdminToken, NewAdminToken } from '../../ports';
import { adminTokenColumns, authenticateAdminToken, mintAdminToken, toStoredAdminToken, type AdminTokenLookup, type AdminTokenRow } from '../admin-token-shared';
import { applyMigrations, runQuery } from './database';

/** Append-only: each entry is one schema version (see `applyMigrations`). */
const migrations = [
  `CREATE TABLE admin_tokens (
    id text COLLATE "C" NOT NULL,
    token_hash text NOT NULL,
    name text NOT NULL,
    scopes text[] NOT NULL,
    created_by text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint,
    last_used_at bigint,
    revoked_at bigint,
    CONSTRAINT admin_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT admin_tokens_token_hash_key UNIQUE (token_hash)
  );`,
] as const;

export interface PostgresAdminTokenStoreOptions {
  /** Supplies `createdAt` of new tokens and `revokedAt`. */
  clock: Clock;
}

/**
 * `AdminTokenStore` over a pg pool. The pool belongs to the caller, so `close()` leaves it open.
 *
 * @example
 * const tokens = await PostgresAdminTokenStore.open(pool, { clock: systemClock });
 * const admin = await tokens.authenticate(bearer, nowSeconds(clock));
 */
export class PostgresAdminTokenStore implements AdminTokenStore {
  private readonly lookup: AdminTokenLookup;

  private constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
  ) {
    this.lookup = {
      findByHash: async (tokenHash) => {
        const { rows } = await runQuery<AdminTokenRow>(pool, `SELECT ${adminTokenColumns} FROM admin_tokens WHERE token_hash = $1`, [tokenHash]);
        return rows[0] === undefined ? null : toStoredAdminToken(rows[0]);
      },
      markUsed: async (id, now, resolution) => {
        await runQuery(pool, 'UPDATE admin_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)', [now, id, now - resolution]);
      },
    };
  }

  /** Applies pending migrations (safe with several instances starting at once), then opens. */
  static async open(pool: Pool, options: PostgresAdminTokenStoreOptions): Promise<PostgresAdminTokenStore> {
    await applyMigrations(pool, 'admin_tokens', migrations);
    return new PostgresAdminTokenStore(pool, options.clock);
  }

  async create(input: NewAdminToken): Promise<CreatedAdminToken> {
    const { token, tokenHash, record } = mintAdminToken(input, nowSeconds(this.clock));
    await runQuery(
      this.pool,
      'INSERT INTO admin_tokens (id, token_hash, name, scopes, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [record.id, tokenHash, record.name, record.scopes, record.createdBy, record.createdAt, record.expiresAt],
    );
    return { token, record };
  }

  authenticate(token: string, now: number): Promise<AdminTokenRecord | null> {
    return authenticateAdminToken(token, now, this.lookup);
  }

  async list(): Promise<AdminTokenRecord[]> {
    const { rows } = await runQuery<AdminTokenRow>(this.pool, `SELECT ${adminTokenColumns} FROM admin_tokens ORDER BY created_at DESC, id`, []);
    return rows.map((row) => toStoredAdminToken(row).record);
  }

  async revoke(id: string): Promise<boolean> {
    const { rowCount } = await runQuery(this.pool, 'UPDATE admin_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [nowSeconds(this.clock), id]);
    return rowCount === 1;
  }

  async ping(): Promise<void> {
    await runQuery(this.pool, 'SELECT 1', []);
  }

  /** The pool belongs to whoever created it; there is nothing of the store's own to release. */
  async close(): Promise<void> {}
}
