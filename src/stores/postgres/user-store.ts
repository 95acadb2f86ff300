/**
 * Users and magic links in PostgreSQL (distributed mode: every hub instance shares them).
 *
 * Schema (component `users`):
 * - `users`: `email_normalized` (`normalizeEmail(email)`: NFC, lower case; collation "C" so
 *   ordering and paging match SQLite's byte order) carries the case-insensitive UNIQUE
 *   constraint; version 3 recomputed the keys stored before NFC (`planEmailKeys`). `roles` is a
 *   `text[]`; times are Unix seconds in `bigint`. Two-step sign-in: `totp_secret` (null when
 *   off), `totp_enabled_at`, `totp_last_step`, `totp_recovery_codes` (`text[]` of SHA-256 hex).
 *   Using a step or a code is one conditional `UPDATE`: a concurrent one waits for the row lock,
 *   then re-checks its WHERE against the new row, so only one succeeds. `email_change_id`: the
 *   newest pending e-mail change (null when none); confirming one is such an `UPDATE` too, which
 *   clears it, so only the newest confirms, and once. `password_version`
 *   counts password changes in the statement that makes them; upgrading a hash is an
 *   `UPDATE … WHERE password_hash = <the one read>`, re-checked the same way.
 * - `magic_links`: keyed by the token's SHA-256, never the token; consuming is one
 *   `DELETE … RETURNING`, so concurrent consumers serialise on the row and only one gets it.
 */
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { nowSeconds, type Clock } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import { normalizeEmail } from '../../core/users/normalize-email';
import type { MagicLinkGrant, MagicLinkStore, NewMagicLink, NewUser, Page, PageRequest, TotpState, UserFilter, UserRecord, UserStore } from '../../ports';
import { checkTotpSecret, checkTotpStep, decodeUserCursor, newUserRecord, pageSize, planEmailKeys, toUserPage, uniqueCodeHashes, uniqueRoles, type EmailKeyConflict } from '../user-store-shared';
import { applyMigrations, boundedQuery, runQuery, type Migration } from './database';
import { toStoreError, uniqueViolation } from './errors';

/**
 * Schema version 3: the e-mail keys stored before `normalizeEmail` applied NFC, recomputed in
 * JavaScript (PostgreSQL's `lower` follows the database's locale, not `toLowerCase`; see
 * `planEmailKeys` for who gets a key two accounts now share). Only rows whose address is not
 * ASCII can change: the octet length of an ASCII text is its length in characters.
 */
async function rekeyEmails(client: PoolClient, report: (conflict: EmailKeyConflict) => void): Promise<void> {
  const { rows } = await client.query<{ id: string; email: string; email_normalized: string; created_at: string }>(
    'SELECT id, email, email_normalized, created_at FROM users WHERE octet_length(email) <> char_length(email)',
  );
  const wanted = [...new Set(rows.map((row) => normalizeEmail(row.email)))];
  if (wanted.length === 0) return;
  const holders = await client.query<{ id: string; email_normalized: string }>('SELECT id, email_normalized FROM users WHERE email_normalized = ANY ($1::text[])', [wanted]);
  const plan = planEmailKeys(
    rows.map((row) => ({ id: row.id, email: row.email, emailNormalized: row.email_normalized, createdAt: Number(row.created_at) })),
    new Map(holders.rows.map((row) => [row.email_normalized, row.id])),
  );
  for (const { id, key } of plan.moves) await client.query('UPDATE users SET email_normalized = $1 WHERE id = $2', [key, id]);
  plan.conflicts.forEach(report);
}

/**
 * The users schema: append-only, each entry one schema version (see `applyMigrations`).
 * `report` hears of the accounts version 3 had to leave with their old key. Exported for the
 * upgrade tests, which build a database as an older release left it.
 */
export const userMigrations = (report: (conflict: EmailKeyConflict) => void = () => undefined): Migration[] => [
  `CREATE TABLE users (
    id text NOT NULL,
    email text NOT NULL,
    email_normalized text COLLATE "C" NOT NULL,
    name text,
    password_hash text,
    roles text[] NOT NULL DEFAULT '{}',
    disabled boolean NOT NULL DEFAULT false,
    created_at bigint NOT NULL,
    last_login_at bigint,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_normalized_key UNIQUE (email_normalized)
  );
  CREATE TABLE magic_links (
    token_hash text NOT NULL,
    user_id text NOT NULL,
    email text NOT NULL,
    return_to text,
    expires_at bigint NOT NULL,
    CONSTRAINT magic_links_pkey PRIMARY KEY (token_hash)
  );
  CREATE INDEX magic_links_expires_at ON magic_links (expires_at);`,
  `ALTER TABLE users
    ADD COLUMN totp_secret text,
    ADD COLUMN totp_enabled_at bigint,
    ADD COLUMN totp_last_step bigint,
    ADD COLUMN totp_recovery_codes text[] NOT NULL DEFAULT '{}';`,
  (client) => rekeyEmails(client, report),
  `ALTER TABLE users ADD COLUMN email_change_id text;`,
  `ALTER TABLE users ADD COLUMN password_version integer NOT NULL DEFAULT 0;`,
];

interface UserRow {
  id: string;
  email: string;
  name: string | null;
  password_hash: string | null;
  roles: string[];
  disabled: boolean;
  /** pg returns `bigint` as a string. */
  created_at: string;
  last_login_at: string | null;
  totp_enabled_at: string | null;
  password_version: number;
}

interface TotpRow {
  totp_secret: string;
  totp_last_step: string | null;
  totp_recovery_codes: string[];
}

const userColumns = 'id, email, name, password_hash, roles, disabled, created_at, last_login_at, totp_enabled_at, password_version';

function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    passwordHash: row.password_hash,
    roles: row.roles,
    disabled: row.disabled,
    createdAt: Number(row.created_at),
    lastLoginAt: row.last_login_at === null ? null : Number(row.last_login_at),
    totpEnabledAt: row.totp_enabled_at === null ? null : Number(row.totp_enabled_at),
    passwordVersion: row.password_version,
  };
}

export interface PostgresUserStoreOptions {
  /** Supplies `createdAt` of new users. */
  clock: Clock;
  /**
   * Told, once the migrations are committed, of each account the NFC key migration left with
   * its old key (see `planEmailKeys`); the hub logs a warning for each.
   */
  onEmailKeyConflict?: (conflict: EmailKeyConflict) => void;
}

/**
 * `UserStore` and `MagicLinkStore` over a pg pool. The pool belongs to the caller (users, audit
 * log and outbox share it), so `close()` leaves it open.
 *
 * @example
 * const users = await PostgresUserStore.open(createPool(config.users.url), { clock });
 * const ada = await users.create({ email: 'Ada@example.org', roles: ['admin'] });
 */
export class PostgresUserStore implements UserStore, MagicLinkStore {
  private constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
  ) {}

  /** Applies pending migrations (safe with several instances starting at once), then opens. */
  static async open(pool: Pool, options: PostgresUserStoreOptions): Promise<PostgresUserStore> {
    const conflicts: EmailKeyConflict[] = [];
    await applyMigrations(pool, 'users', userMigrations((conflict) => conflicts.push(conflict)));
    for (const conflict of conflicts) options.onEmailKeyConflict?.(conflict);
    return new PostgresUserStore(pool, options.clock);
  }

  private query<R extends QueryResultRow>(text: string, values: unknown[]): Promise<{ rows: R[]; rowCount: number }> {
    return runQuery<R>(this.pool, text, values);
  }

  async create(user: NewUser): Promise<UserRecord> {
    const record = newUserRecord(user, nowSeconds(this.clock));
    try {
      await boundedQuery(
        this.pool,
        `INSERT INTO users (id, email, email_normalized, name, password_hash, roles, disabled, created_at, last_login_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)`,
        [record.id, record.email, normalizeEmail(record.email), record.name, record.passwordHash, record.roles, record.disabled, record.createdAt],
      );
    } catch (err) {
      const constraint = uniqueViolation(err);
      if (constraint === 'users_email_normalized_key') throw new TesseraError('ERR_USER_EXISTS', 'a user with this e-mail address exists');
      if (constraint !== null) throw new TesseraError('ERR_STORE_CONFLICT', 'a user with this id exists');
      throw toStoreError(err);
    }
    return record;
  }

  async findById(id: string): Promise<UserRecord | null> {
    const { rows } = await this.query<UserRow>(`SELECT ${userColumns} FROM users WHERE id = $1`, [id]);
    return rows[0] === undefined ? null : toUser(rows[0]);
  }

  async findByEmail(email: string): Promise<UserRecord | null> {
    const { rows } = await this.query<UserRow>(`SELECT ${userColumns} FROM users WHERE email_normalized = $1`, [normalizeEmail(email)]);
    return rows[0] === undefined ? null : toUser(rows[0]);
  }

  async list(filter: UserFilter, page: PageRequest): Promise<Page<UserRecord>> {
    const limit = pageSize(page);
    const after = decodeUserCursor(page.cursor);
    const conditions: string[] = [];
    const values: unknown[] = [];
    const where = (condition: (placeholder: string) => string, value: unknown) => {
      values.push(value);
      conditions.push(condition(`$${values.length}`));
    };
    if (filter.emailContains !== undefined) where((p) => `strpos(email_normalized, ${p}) > 0`, normalizeEmail(filter.emailContains));
    if (filter.role !== undefined) where((p) => `${p} = ANY (roles)`, filter.role);
    if (filter.disabled !== undefined) where((p) => `disabled = ${p}`, filter.disabled);
    if (after !== null) where((p) => `email_normalized > ${p}`, after);
    values.push(limit + 1);
    const { rows } = await this.query<UserRow & { email_normalized: string }>(
      `SELECT ${userColumns}, email_normalized FROM users ${conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`}
       ORDER BY email_normalized LIMIT $${values.length}`,
      values,
    );
    return toUserPage(rows, limit, toUser, (row) => row.email_normalized);
  }

  /** Sets one column of one user and returns the updated record. */
  private async update(id: string, column: string, value: unknown): Promise<UserRecord> {
    const { rows } = await this.query<UserRow>(`UPDATE users SET ${column} = $2 WHERE id = $1 RETURNING ${userColumns}`, [id, value]);
    if (rows[0] === undefined) throw new TesseraError('ERR_USER_NOT_FOUND', 'no such user');
    return toUser(rows[0]);
  }

  async setPasswordHash(id: string, passwordHash: string | null): Promise<UserRecord> {
    const { rows } = await this.query<UserRow>(
      `UPDATE users SET password_hash = $2, password_version = password_version + 1 WHERE id = $1 RETURNING ${userColumns}`,
      [id, passwordHash],
    );
    if (rows[0] === undefined) throw new TesseraError('ERR_USER_NOT_FOUND', 'no such user');
    return toUser(rows[0]);
  }

  async upgradePasswordHash(id: string, current: string, upgraded: string): Promise<boolean> {
    const { rowCount } = await this.query('UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2', [id, current, upgraded]);
    return rowCount === 1;
  }

  setDisabled(id: string, disabled: boolean): Promise<UserRecord> {
    return this.update(id, 'disabled', disabled);
  }

  setRoles(id: string, roles: string[]): Promise<UserRecord> {
    return this.update(id, 'roles', uniqueRoles(roles));
  }

  setName(id: string, name: string | null): Promise<UserRecord> {
    return this.update(id, 'name', name);
  }

  async delete(id: string): Promise<boolean> {
    // One statement, so one transaction: the links go with the user or not at all.
    const { rowCount } = await this.query('WITH links AS (DELETE FROM magic_links WHERE user_id = $1) DELETE FROM users WHERE id = $1', [id]);
    return rowCount > 0;
  }

  recordLogin(id: string, at: number): Promise<UserRecord> {
    return this.update(id, 'last_login_at', at);
  }

  async setEmail(id: string, email: string, pendingChange?: string): Promise<UserRecord> {
    const address = email.trim();
    if (address.length === 0) throw new TesseraError('ERR_BAD_REQUEST', 'e-mail address is empty');
    let rows: UserRow[];
    try {
      // One statement, so one transaction: the links go with the old address or not at all. Any
      // change of address ends a pending e-mail change; with $4, only that one may make it.
      ({ rows } = await boundedQuery<UserRow>(
        this.pool,
        `WITH changed AS (
                UPDATE users SET email = $2, email_normalized = $3, email_change_id = NULL
                WHERE id = $1 AND ($4::text IS NULL OR email_change_id = $4) RETURNING ${userColumns}),
              links AS (DELETE FROM magic_links WHERE user_id IN (SELECT id FROM changed))
         SELECT ${userColumns} FROM changed`,
        [id, address, normalizeEmail(address), pendingChange ?? null],
      ));
    } catch (err) {
      if (uniqueViolation(err) === 'users_email_normalized_key') throw new TesseraError('ERR_USER_EXISTS', 'a user with this e-mail address exists');
      throw toStoreError(err);
    }
    if (rows[0] !== undefined) return toUser(rows[0]);
    if ((await this.findById(id)) === null) throw new TesseraError('ERR_USER_NOT_FOUND', 'no such user');
    throw new TesseraError('ERR_STORE_CONFLICT', 'not the pending e-mail change');
  }

  async setPendingEmailChange(id: string, changeId: string): Promise<void> {
    const { rowCount } = await this.query('UPDATE users SET email_change_id = $1 WHERE id = $2', [changeId, id]);
    if (rowCount === 0) throw new TesseraError('ERR_USER_NOT_FOUND', 'no such user');
  }

  async pendingEmailChangeId(id: string): Promise<string | null> {
    const { rows } = await this.query<{ email_change_id: string | null }>('SELECT email_change_id FROM users WHERE id = $1', [id]);
    return rows[0]?.email_change_id ?? null;
  }

  async setTotp(id: string, totp: { secret: string; recoveryCodeHashes: string[] } | null): Promise<UserRecord> {
    const values =
      totp === null ? [null, null, []] : [checkTotpSecret(totp.secret), nowSeconds(this.clock), uniqueCodeHashes(totp.recoveryCodeHashes)];
    const { rows } = await this.query<UserRow>(
      `UPDATE users SET totp_secret = $2, totp_enabled_at = $3, totp_last_step = NULL, totp_recovery_codes = $4 WHERE id = $1 RETURNING ${userColumns}`,
      [id, ...values],
    );
    if (rows[0] === undefined) throw new TesseraError('ERR_USER_NOT_FOUND', 'no such user');
    return toUser(rows[0]);
  }

  async totpState(id: string): Promise<TotpState | null> {
    const { rows } = await this.query<TotpRow>(
      'SELECT totp_secret, totp_last_step, totp_recovery_codes FROM users WHERE id = $1 AND totp_secret IS NOT NULL',
      [id],
    );
    const row = rows[0];
    if (row === undefined) return null;
    return { secret: row.totp_secret, lastStep: row.totp_last_step === null ? null : Number(row.totp_last_step), recoveryCodeHashes: row.totp_recovery_codes };
  }

  async useTotpStep(id: string, step: number): Promise<boolean> {
    const { rowCount } = await this.query(
      'UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < $2)',
      [id, checkTotpStep(step)],
    );
    return rowCount === 1;
  }

  async useRecoveryCode(id: string, codeHash: string): Promise<boolean> {
    const { rowCount } = await this.query(
      'UPDATE users SET totp_recovery_codes = array_remove(totp_recovery_codes, $2) WHERE id = $1 AND totp_secret IS NOT NULL AND $2 = ANY (totp_recovery_codes)',
      [id, codeHash],
    );
    return rowCount === 1;
  }

  async setRecoveryCodes(id: string, codeHashes: string[]): Promise<void> {
    const codes = uniqueCodeHashes(codeHashes);
    const { rowCount } = await this.query('UPDATE users SET totp_recovery_codes = $2 WHERE id = $1 AND totp_secret IS NOT NULL', [id, codes]);
    if (rowCount === 1) return;
    if ((await this.findById(id)) === null) throw new TesseraError('ERR_USER_NOT_FOUND', 'no such user');
    throw new TesseraError('ERR_BAD_REQUEST', 'two-step sign-in is off');
  }

  async createMagicLink(link: NewMagicLink): Promise<void> {
    try {
      await boundedQuery(this.pool, 'INSERT INTO magic_links (token_hash, user_id, email, return_to, expires_at) VALUES ($1, $2, $3, $4, $5)', [
        link.tokenHash,
        link.userId,
        link.email,
        link.returnTo,
        link.expiresAt,
      ]);
    } catch (err) {
      if (uniqueViolation(err) !== null) throw new TesseraError('ERR_STORE_CONFLICT', 'magic link exists');
      throw toStoreError(err);
    }
  }

  async consumeMagicLink(tokenHash: string, now: number): Promise<MagicLinkGrant | null> {
    const { rows } = await this.query<{ user_id: string; email: string; return_to: string | null }>(
      // One statement: the link and the user's other pending links go together or not at all.
      `WITH spent AS (DELETE FROM magic_links WHERE token_hash = $1 AND expires_at > $2 RETURNING user_id, email, return_to),
            others AS (DELETE FROM magic_links WHERE token_hash <> $1 AND user_id IN (SELECT user_id FROM spent))
       SELECT user_id, email, return_to FROM spent`,
      [tokenHash, now],
    );
    const row = rows[0];
    return row === undefined ? null : { userId: row.user_id, email: row.email, returnTo: row.return_to };
  }

  async peekMagicLink(tokenHash: string, now: number): Promise<MagicLinkGrant | null> {
    const { rows } = await this.query<{ user_id: string; email: string; return_to: string | null }>(
      'SELECT user_id, email, return_to FROM magic_links WHERE token_hash = $1 AND expires_at > $2',
      [tokenHash, now],
    );
    const row = rows[0];
    return row === undefined ? null : { userId: row.user_id, email: row.email, returnTo: row.return_to };
  }

  async purgeExpired(now: number): Promise<number> {
    return (await this.query('DELETE FROM magic_links WHERE expires_at <= $1', [now])).rowCount;
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1', []);
  }

  /** The pool belongs to whoever created it; there is nothing of the store's own to release. */
  async close(): Promise<void> {}
}
