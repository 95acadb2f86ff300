/**
 * Users and magic links in the embedded SQLite file.
 *
 * Schema (component `users`):
 * - `users`: `email_normalized` (`normalizeEmail(email)`: NFC, lower case) carries the
 *   case-insensitive UNIQUE constraint and orders listings (byte order, like PostgreSQL's "C"
 *   collation); version 3 recomputed the keys stored before NFC (`planEmailKeys`). `roles` is a
 *   JSON array; `disabled` 0/1; times are Unix seconds. Two-step sign-in: `totp_secret` (null
 *   when off), `totp_enabled_at`, `totp_last_step`, `totp_recovery_codes` (JSON array of SHA-256
 *   hex). Using a step or a code is one conditional `UPDATE`, so only one caller can succeed.
 *   `email_change_id`: the newest pending e-mail change (null when none); confirming one is one
 *   conditional `UPDATE` that clears it, so only the newest confirms, and once.
 *   `password_version` counts password changes (set, changed, removed) in the statement that
 *   makes them; upgrading a hash is an `UPDATE … WHERE password_hash = <the one read>`.
 * - `magic_links`: keyed by the token's SHA-256, never the token. Consuming is one
 *   `DELETE … RETURNING`; better-sqlite3 runs statements one at a time, so only one caller can
 *   get a given row.
 */
import type Database from 'better-sqlite3';
import { nowSeconds, type Clock } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import { normalizeEmail } from '../../core/users/normalize-email';
import type { MagicLinkGrant, MagicLinkStore, NewMagicLink, NewUser, Page, PageRequest, TotpState, UserFilter, UserRecord, UserStore } from '../../ports';
import { checkTotpSecret, checkTotpStep, decodeUserCursor, newUserRecord, pageSize, planEmailKeys, toUserPage, uniqueCodeHashes, uniqueRoles, type EmailKeyConflict } from '../user-store-shared';
import { applyMigrations, runStatements, type Migration } from './database';

/**
 * Schema version 3: the e-mail keys stored before `normalizeEmail` applied NFC, recomputed
 * (see `planEmailKeys` for who gets a key two accounts now share). Only rows whose address is
 * not ASCII can change: the byte length of an ASCII text is its length in characters.
 */
function rekeyEmails(db: Database.Database, report: (conflict: EmailKeyConflict) => void): (() => void) | undefined {
  const rows = db
    .prepare<[], { id: string; email: string; email_normalized: string; created_at: number }>(
      'SELECT id, email, email_normalized, created_at FROM users WHERE length(CAST(email AS BLOB)) <> length(email)',
    )
    .all()
    .map((row) => ({ id: row.id, email: row.email, emailNormalized: row.email_normalized, createdAt: row.created_at }));
  const wanted = [...new Set(rows.map((row) => normalizeEmail(row.email)))];
  if (wanted.length === 0) return undefined;
  const holders = db
    .prepare<[string], { id: string; email_normalized: string }>('SELECT id, email_normalized FROM users WHERE email_normalized IN (SELECT value FROM json_each(?))')
    .all(JSON.stringify(wanted));
  const plan = planEmailKeys(rows, new Map(holders.map((row) => [row.email_normalized, row.id])));
  const move = db.prepare<[string, string]>('UPDATE users SET email_normalized = ? WHERE id = ?');
  for (const { id, key } of plan.moves) move.run(key, id);
  // Told once this version is committed (see `Migration`), whatever the later versions do.
  return () => plan.conflicts.forEach(report);
}

/**
 * The users schema: append-only, each entry one schema version (see `applyMigrations`).
 * `report` hears of the accounts version 3 had to leave with their old key. Exported for the
 * upgrade tests, which build a database as an older release left it.
 */
export const userMigrations = (report: (conflict: EmailKeyConflict) => void = () => undefined): Migration[] => [
  `CREATE TABLE users (
    id TEXT NOT NULL PRIMARY KEY,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL UNIQUE,
    name TEXT,
    password_hash TEXT,
    roles TEXT NOT NULL DEFAULT '[]',
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    last_login_at INTEGER
  ) STRICT;
  CREATE TABLE magic_links (
    token_hash TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL,
    email TEXT NOT NULL,
    return_to TEXT,
    expires_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX magic_links_expires_at ON magic_links (expires_at);`,
  `ALTER TABLE users ADD COLUMN totp_secret TEXT;
  ALTER TABLE users ADD COLUMN totp_enabled_at INTEGER;
  ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
  ALTER TABLE users ADD COLUMN totp_recovery_codes TEXT NOT NULL DEFAULT '[]';`,
  (db) => rekeyEmails(db, report),
  `ALTER TABLE users ADD COLUMN email_change_id TEXT;`,
  `ALTER TABLE users ADD COLUMN password_version INTEGER NOT NULL DEFAULT 0;`,
];

interface UserRow {
  id: string;
  email: string;
  name: string | null;
  password_hash: string | null;
  /** JSON array of strings. */
  roles: string;
  disabled: 0 | 1;
  created_at: number;
  last_login_at: number | null;
  totp_enabled_at: number | null;
  password_version: number;
}

interface TotpRow {
  totp_secret: string;
  totp_last_step: number | null;
  /** JSON array of strings. */
  totp_recovery_codes: string;
}

interface MagicLinkRow {
  user_id: string;
  email: string;
  return_to: string | null;
}

const userColumns = 'id, email, name, password_hash, roles, disabled, created_at, last_login_at, totp_enabled_at, password_version';

function toUser(row: UserRow): UserRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    passwordHash: row.password_hash,
    roles: JSON.parse(row.roles) as string[],
    disabled: row.disabled === 1,
    createdAt: row.created_at,
    lastLoginAt: row.last_login_at,
    totpEnabledAt: row.totp_enabled_at,
    passwordVersion: row.password_version,
  };
}

/** The statements every call uses, prepared once. */
function prepareStatements(db: Database.Database) {
  return {
    insertUser: db.prepare<[string, string, string, string | null, string | null, string, number, number]>(
      `INSERT INTO users (id, email, email_normalized, name, password_hash, roles, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    byId: db.prepare<[string], UserRow>(`SELECT ${userColumns} FROM users WHERE id = ?`),
    byEmail: db.prepare<[string], UserRow>(`SELECT ${userColumns} FROM users WHERE email_normalized = ?`),
    insertLink: db.prepare<[string, string, string, string | null, number]>(
      'INSERT INTO magic_links (token_hash, user_id, email, return_to, expires_at) VALUES (?, ?, ?, ?, ?)',
    ),
    consumeLink: db.prepare<[string, number], MagicLinkRow>(
      'DELETE FROM magic_links WHERE token_hash = ? AND expires_at > ? RETURNING user_id, email, return_to',
    ),
    peekLink: db.prepare<[string, number], MagicLinkRow>('SELECT user_id, email, return_to FROM magic_links WHERE token_hash = ? AND expires_at > ?'),
    purgeLinks: db.prepare<[number]>('DELETE FROM magic_links WHERE expires_at <= ?'),
    deleteLinksOf: db.prepare<[string]>('DELETE FROM magic_links WHERE user_id = ?'),
    deleteUser: db.prepare<[string]>('DELETE FROM users WHERE id = ?'),
    setPassword: db.prepare<[string | null, string], UserRow>(
      `UPDATE users SET password_hash = ?, password_version = password_version + 1 WHERE id = ? RETURNING ${userColumns}`,
    ),
    upgradePassword: db.prepare<[string, string, string]>('UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?'),
    // Any change of address ends a pending e-mail change; with @pending, only that one may make it.
    setEmail: db.prepare<{ email: string; key: string; id: string; pending: string | null }, UserRow>(
      `UPDATE users SET email = @email, email_normalized = @key, email_change_id = NULL WHERE id = @id AND (@pending IS NULL OR email_change_id = @pending) RETURNING ${userColumns}`,
    ),
    setPendingEmailChange: db.prepare<[string, string]>('UPDATE users SET email_change_id = ? WHERE id = ?'),
    pendingEmailChange: db.prepare<[string], { email_change_id: string | null }>('SELECT email_change_id FROM users WHERE id = ?'),
    setTotp: db.prepare<[string | null, number | null, string, string], UserRow>(
      `UPDATE users SET totp_secret = ?, totp_enabled_at = ?, totp_last_step = NULL, totp_recovery_codes = ? WHERE id = ? RETURNING ${userColumns}`,
    ),
    totpState: db.prepare<[string], TotpRow>('SELECT totp_secret, totp_last_step, totp_recovery_codes FROM users WHERE id = ? AND totp_secret IS NOT NULL'),
    useStep: db.prepare<[number, string, number]>(
      'UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < ?)',
    ),
    // json_remove by the code's own path keeps the others in order; the WHERE makes a spent or
    // unknown code change nothing.
    useCode: db.prepare<{ id: string; hash: string }>(
      `UPDATE users SET totp_recovery_codes = json_remove(totp_recovery_codes, (SELECT fullkey FROM json_each(users.totp_recovery_codes) WHERE value = @hash))
       WHERE id = @id AND totp_secret IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(users.totp_recovery_codes) WHERE value = @hash)`,
    ),
    setCodes: db.prepare<[string, string]>('UPDATE users SET totp_recovery_codes = ? WHERE id = ? AND totp_secret IS NOT NULL'),
    ping: db.prepare('SELECT 1'),
  };
}

export interface SqliteUserStoreOptions {
  /** Supplies `createdAt` of new users. */
  clock: Clock;
  /**
   * Told, once the NFC key migration (version 3) is committed, of each account it left with its
   * old key (see `planEmailKeys`), even when a later version then fails: a next start finds it
   * applied and cannot tell again. The hub logs a warning for each.
   */
  onEmailKeyConflict?: (conflict: EmailKeyConflict) => void;
}

/**
 * `UserStore` and `MagicLinkStore` over an open SQLite database (see `openDatabase`). Applies
 * its migrations on construction. The database belongs to the caller (sessions, audit log and
 * outbox share the file), so `close()` leaves it open.
 *
 * @example
 * const users = new SqliteUserStore(openDatabase('data/tessera.db'), { clock: systemClock });
 * const ada = await users.create({ email: 'Ada@example.org', roles: ['admin'] });
 */
export class SqliteUserStore implements UserStore, MagicLinkStore {
  private readonly clock: Clock;
  private readonly statements: ReturnType<typeof prepareStatements>;

  constructor(
    private readonly db: Database.Database,
    options: SqliteUserStoreOptions,
  ) {
    this.clock = options.clock;
    applyMigrations(db, 'users', userMigrations((conflict) => options.onEmailKeyConflict?.(conflict)));
    this.statements = prepareStatements(db);
  }

  /** Runs a statement, turning SQLite failures of the file (not of the request) into 503s. */
  private run<T>(action: () => T): T {
    return runStatements(this.db, action);
  }

  async create(user: NewUser): Promise<UserRecord> {
    const record = newUserRecord(user, nowSeconds(this.clock));
    try {
      this.run(() =>
        this.statements.insertUser.run(
          record.id,
          record.email,
          normalizeEmail(record.email),
          record.name,
          record.passwordHash,
          JSON.stringify(record.roles),
          record.disabled ? 1 : 0,
          record.createdAt,
        ),
      );
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'SQLITE_CONSTRAINT_UNIQUE' && String((err as Error).message).includes('users.email_normalized')) {
        throw new TesseraError('ERR_USER_EXISTS', 'a user with this e-mail address exists');
      }
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new TesseraError('ERR_STORE_CONFLICT', 'a user with this id exists');
      throw err;
    }
    return record;
  }

  async findById(id: string): Promise<UserRecord | null> {
    const row = this.run(() => this.statements.byId.get(id));
    return row === undefined ? null : toUser(row);
  }

  async findByEmail(email: string): Promise<UserRecord | null> {
    const row = this.run(() => this.statements.byEmail.get(normalizeEmail(email)));
    return row === undefined ? null : toUser(row);
  }

  async list(filter: UserFilter, page: PageRequest): Promise<Page<UserRecord>> {
    const limit = pageSize(page);
    const after = decodeUserCursor(page.cursor);
    const conditions: string[] = [];
    const values: (string | number)[] = [];
    if (filter.emailContains !== undefined) {
      // instr, not LIKE: `%` and `_` in the search are plain characters.
      conditions.push('instr(email_normalized, ?) > 0');
      values.push(normalizeEmail(filter.emailContains));
    }
    if (filter.role !== undefined) {
      conditions.push('EXISTS (SELECT 1 FROM json_each(users.roles) WHERE json_each.value = ?)');
      values.push(filter.role);
    }
    if (filter.disabled !== undefined) {
      conditions.push('disabled = ?');
      values.push(filter.disabled ? 1 : 0);
    }
    if (after !== null) {
      conditions.push('email_normalized > ?');
      values.push(after);
    }
    const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
    const rows = this.run(() =>
      this.db
        .prepare<unknown[], UserRow & { email_normalized: string }>(`SELECT ${userColumns}, email_normalized FROM users ${where} ORDER BY email_normalized LIMIT ?`)
        .all(...values, limit + 1),
    );
    return toUserPage(rows, limit, toUser, (row) => row.email_normalized);
  }

  /** Sets one column of one user and returns the updated record. */
  private update(id: string, column: string, value: string | number | null): UserRecord {
    const row = this.run(() => this.db.prepare<[string | number | null, string], UserRow>(`UPDATE users SET ${column} = ? WHERE id = ? RETURNING ${userColumns}`).get(value, id));
    if (row === undefined) throw new TesseraError('ERR_USER_NOT_FOUND', 'no such user');
    return toUser(row);
  }

  async setPasswordHash(id: string, passwordHash: string | null): Promise<UserRecord> {
    const row = this.run(() => this.statements.setPassword.get(passwordHash, id));
    if (row === undefined) throw new TesseraError('ERR_USER_NOT_FOUND', 'no such user');
    return toUser(row);
  }

  async upgradePasswordHash(id: string, current: string, upgraded: string): Promise<boolean> {
    return this.run(() => this.statements.upgradePassword.run(upgraded, id, current)).changes === 1;
  }

  async setDisabled(id: string, disabled: boolean): Promise<UserRecord> {
    return this.update(id, 'disabled', disabled ? 1 : 0);
  }

  async setRoles(id: string, roles: string[]): Promise<UserRecord> {
    return this.update(id, 'roles', JSON.stringify(uniqueRoles(roles)));
  }

  async setName(id: string, name: string | null): Promise<UserRecord> {
    return this.update(id, 'name', name);
  }

  async recordLogin(id: string, at: number): Promise<UserRecord> {
    return this.update(id, 'last_login_at', at);
  }

  async setTotp(id: string, totp: { secret: string; recoveryCodeHashes: string[] } | null): Promise<UserRecord> {
    const row =
      totp === null
        ? this.run(() => this.statements.setTotp.get(null, null, '[]', id))
        : this.run(() =>
            this.statements.setTotp.get(checkTotpSecret(totp.secret), nowSeconds(this.clock), JSON.stringify(uniqueCodeHashes(totp.recoveryCodeHashes)), id),
          );
    if (row === undefined) throw new TesseraError('ERR_USER_NOT_FOUND', 'no such user');
    return toUser(row);
  }

  async totpState(id: string): Promise<TotpState | null> {
    const row = this.run(() => this.statements.totpState.get(id));
    if (row === undefined) return null;
    return { secret: row.totp_secret, lastStep: row.totp_last_step, recoveryCodeHashes: JSON.parse(row.totp_recovery_codes) as string[] };
  }

  async useTotpStep(id: string, step: number): Promise<boolean> {
    checkTotpStep(step);
    return this.run(() => this.statements.useStep.run(step, id, step)).changes === 1;
  }

  async useRecoveryCode(id: string, codeHash: string): Promise<boolean> {
    return this.run(() => this.statements.useCode.run({ id, hash: codeHash })).changes === 1;
  }

  async setRecoveryCodes(id: string, codeHashes: string[]): Promise<void> {
    const codes = JSON.stringify(uniqueCodeHashes(codeHashes));
    if (this.run(() => this.statements.setCodes.run(codes, id)).changes === 1) return;
    if ((await this.findById(id)) === null) throw new TesseraError('ERR_USER_NOT_FOUND', 'no such user');
    throw new TesseraError('ERR_BAD_REQUEST', 'two-step sign-in is off');
  }

  async delete(id: string): Promise<boolean> {
    const removed = this.run(() =>
      this.db.transaction(() => {
        this.statements.deleteLinksOf.run(id);
        return this.statements.deleteUser.run(id).changes;
      })(),
    );
    return removed > 0;
  }

  async setEmail(id: string, email: string, pendingChange?: string): Promise<UserRecord> {
    const address = email.trim();
    if (address.length === 0) throw new TesseraError('ERR_BAD_REQUEST', 'e-mail address is empty');
    let result: { row: UserRow | undefined; exists: boolean };
    try {
      result = this.run(() =>
        this.db.transaction(() => {
          const changed = this.statements.setEmail.get({ email: address, key: normalizeEmail(address), id, pending: pendingChange ?? null });
          if (changed !== undefined) this.statements.deleteLinksOf.run(id);
          return { row: changed, exists: changed !== undefined || this.statements.byId.get(id) !== undefined };
        })(),
      );
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new TesseraError('ERR_USER_EXISTS', 'a user with this e-mail address exists');
      throw err;
    }
    if (result.row !== undefined) return toUser(result.row);
    if (!result.exists) throw new TesseraError('ERR_USER_NOT_FOUND', 'no such user');
    throw new TesseraError('ERR_STORE_CONFLICT', 'not the pending e-mail change');
  }

  async setPendingEmailChange(id: string, changeId: string): Promise<void> {
    if (this.run(() => this.statements.setPendingEmailChange.run(changeId, id)).changes === 0) throw new TesseraError('ERR_USER_NOT_FOUND', 'no such user');
  }

  async pendingEmailChangeId(id: string): Promise<string | null> {
    return this.run(() => this.statements.pendingEmailChange.get(id))?.email_change_id ?? null;
  }

  async createMagicLink(link: NewMagicLink): Promise<void> {
    try {
      this.run(() => this.statements.insertLink.run(link.tokenHash, link.userId, link.email, link.returnTo, link.expiresAt));
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new TesseraError('ERR_STORE_CONFLICT', 'magic link exists');
      throw err;
    }
  }

  async consumeMagicLink(tokenHash: string, now: number): Promise<MagicLinkGrant | null> {
    const row = this.run(() =>
      this.db.transaction(() => {
        const spent = this.statements.consumeLink.get(tokenHash, now);
        if (spent !== undefined) this.statements.deleteLinksOf.run(spent.user_id);
        return spent;
      })(),
    );
    return row === undefined ? null : { userId: row.user_id, email: row.email, returnTo: row.return_to };
  }

  async peekMagicLink(tokenHash: string, now: number): Promise<MagicLinkGrant | null> {
    const row = this.run(() => this.statements.peekLink.get(tokenHash, now));
    return row === undefined ? null : { userId: row.user_id, email: row.email, returnTo: row.return_to };
  }

  async purgeExpired(now: number): Promise<number> {
    return this.run(() => this.statements.purgeLinks.run(now)).changes;
  }

  async ping(): Promise<void> {
    this.run(() => this.statements.ping.get());
  }

  /** The database belongs to whoever opened it; there is nothing of the store's own to release. */
  async close(): Promise<void> {}
}
