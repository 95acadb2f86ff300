/**
 * Admin API tokens in the embedded SQLite file.
 *
 * Schema (component `admin_tokens`): `admin_tokens` keyed by a random id, with the UNIQUE
 * SHA-256 (hex) of the token — never the token — that authentication looks rows up by; `scopes`
 * is a JSON array; times are Unix seconds. Revoking sets `revoked_at` and keeps the row, so
 * `list` still shows who had which token.
 */
import type Database from 'better-sqlite3';
import { nowSeconds, type Clock } from '../../core/clock';
import type { AdminTokenRecord, AdminTokenStore, CreatedAdminToken, NewAdminToken } from '../../ports';
import { adminTokenColumns, authenticateAdminToken, mintAdminToken, toStoredAdminToken, type AdminTokenLookup, type AdminTokenRow } from '../admin-token-shared';
import { applyMigrations, runStatements } from './database';

/** Append-only: each entry is one schema version (see `applyMigrations`). */
const migrations = [
  `CREATE TABLE admin_tokens (
    id TEXT NOT NULL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    revoked_at INTEGER
  ) STRICT, WITHOUT ROWID;`,
] as const;

/** The statements every call uses, prepared once. */
function prepareStatements(db: Database.Database) {
  return {
    insert: db.prepare<[string, string, string, string, string, number, number | null]>(
      'INSERT INTO admin_tokens (id, token_hash, name, scopes, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    byHash: db.prepare<[string], AdminTokenRow>(`SELECT ${adminTokenColumns} FROM admin_tokens WHERE token_hash = ?`),
    markUsed: db.prepare<[number, string, number]>('UPDATE admin_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)'),
    list: db.prepare<[], AdminTokenRow>(`SELECT ${adminTokenColumns} FROM admin_tokens ORDER BY created_at DESC, id`),
    revoke: db.prepare<[number, string]>('UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    select1: db.prepare('SELECT 1'),
  };
}

export interface SqliteAdminTokenStoreOptions {
  /** Supplies `createdAt` of new tokens and `revokedAt`. */
  clock: Clock;
}

/**
 * `AdminTokenStore` over an open SQLite database (see `openDatabase`). Applies its migrations on
 * construction. The database belongs to the caller, so `close()` leaves it open.
 *
 * @example
 * const tokens = new SqliteAdminTokenStore(openDatabase('data/tessera.db'), { clock: systemClock });
 * const { token } = await tokens.create({ name: 'monitoring', scopes: ['sessions:read'], createdBy: 'cli', expiresAt: null });
 */
export class SqliteAdminTokenStore implements AdminTokenStore {
  private readonly clock: Clock;
  private readonly statements: ReturnType<typeof prepareStatements>;
  private readonly lookup: AdminTokenLookup;

  constructor(
    private readonly db: Database.Database,
    options: SqliteAdminTokenStoreOptions,
  ) {
    this.clock = options.clock;
    applyMigrations(db, 'admin_tokens', migrations);
    const statements = prepareStatements(db);
    this.statements = statements;
    this.lookup = {
      findByHash: async (tokenHash) => {
        const row = runStatements(db, () => statements.byHash.get(tokenHash));
        return row === undefined ? null : toStoredAdminToken(row);
      },
      markUsed: async (id, now, resolution) => {
        runStatements(db, () => statements.markUsed.run(now, id, now - resolution));
      },
    };
  }

  async create(input: NewAdminToken): Promise<CreatedAdminToken> {
    const { token, tokenHash, record } = mintAdminToken(input, nowSeconds(this.clock));
    runStatements(this.db, () =>
      this.statements.insert.run(record.id, tokenHash, record.name, JSON.stringify(record.scopes), record.createdBy, record.createdAt, record.expiresAt),
    );
    return { token, record };
  }

  authenticate(token: string, now: number): Promise<AdminTokenRecord | null> {
    return authenticateAdminToken(token, now, this.lookup);
  }

  async list(): Promise<AdminTokenRecord[]> {
    return runStatements(this.db, () => this.statements.list.all()).map((row) => toStoredAdminToken(row).record);
  }

  async revoke(id: string): Promise<boolean> {
    const now = nowSeconds(this.clock);
    return runStatements(this.db, () => this.statements.revoke.run(now, id)).changes === 1;
  }

  async ping(): Promise<void> {
    runStatements(this.db, () => this.statements.select1.get());
  }

  /** The database belongs to whoever opened it; there is nothing of the store's own to release. */
  async close(): Promise<void> {}
}
