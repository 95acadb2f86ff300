/**
 * What every `UserStore` adapter does the same way: defaults of a new user, role lists, TOTP
 * input checks, and keyset paging over the normalized e-mail address (unique, so it alone
 * orders and resumes).
 */
import { randomBytes } from 'node:crypto';
import { TesseraError } from '../core/errors';
import { normalizeEmail } from '../core/users/normalize-email';
import type { NewUser, Page, PageRequest, UserRecord } from '../ports';

/** `PageRequest.limit` is capped here (ports.ts). */
const maxPageSize = 500;

/** Roles in the order given, each once. */
export function uniqueRoles(roles: readonly string[]): string[] {
  for (const role of roles) {
    if (typeof role !== 'string' || role.length === 0) throw new TesseraError('ERR_BAD_REQUEST', 'a role must be a non-empty string');
  }
  return [...new Set(roles)];
}

/** The full record `create` stores, with its defaults (id: 128 random bits, base64url). */
export function newUserRecord(user: NewUser, createdAt: number): UserRecord {
  const email = user.email.trim();
  if (email.length === 0) throw new TesseraError('ERR_BAD_REQUEST', 'e-mail address is empty');
  if (user.id !== undefined && user.id.length === 0) throw new TesseraError('ERR_BAD_REQUEST', 'user id is empty');
  return {
    id: user.id ?? randomBytes(16).toString('base64url'),
    email,
    name: user.name ?? null,
    passwordHash: user.passwordHash ?? null,
    roles: uniqueRoles(user.roles ?? []),
    disabled: user.disabled ?? false,
    createdAt,
    lastLoginAt: null,
    totpEnabledAt: null,
    passwordVersion: 0,
  };
}

/** `ERR_BAD_REQUEST` unless the TOTP secret is unpadded base32 (RFC 4648 §6), as ports.ts says. */
export function checkTotpSecret(secret: string): string {
  if (typeof secret !== 'string' || !/^[A-Z2-7]+$/.test(secret)) throw new TesseraError('ERR_BAD_REQUEST', 'TOTP secret must be unpadded base32');
  return secret;
}

/**
 * Recovery code hashes in the order given, each once: spending one removes it, so a duplicate
 * could be a code that works twice.
 */
export function uniqueCodeHashes(hashes: readonly string[]): string[] {
  for (const hash of hashes) {
    if (typeof hash !== 'string' || hash.length === 0) throw new TesseraError('ERR_BAD_REQUEST', 'a recovery code hash must be a non-empty string');
  }
  return [...new Set(hashes)];
}

/** `ERR_BAD_REQUEST` unless a TOTP time step is a non-negative integer (what both databases can store). */
export function checkTotpStep(step: number): number {
  if (!Number.isSafeInteger(step) || step < 0) throw new TesseraError('ERR_BAD_REQUEST', 'TOTP step must be a non-negative integer');
  return step;
}

/** The page size to ask for; `ERR_BAD_REQUEST` unless a positive integer. */
export function pageSize(page: PageRequest): number {
  if (!Number.isInteger(page.limit) || page.limit < 1) throw new TesseraError('ERR_BAD_REQUEST', '"limit" must be a positive integer');
  return Math.min(page.limit, maxPageSize);
}

/** The normalized e-mail address to resume after, or null for the first page. */
export function decodeUserCursor(cursor: string | null | undefined): string | null {
  if (cursor === undefined || cursor === null) return null;
  const after = Buffer.from(cursor, 'base64url').toString('utf8');
  if (after.length === 0 || encodeUserCursor(after) !== cursor) throw new TesseraError('ERR_BAD_REQUEST', 'malformed cursor');
  return after;
}

/** The cursor that resumes after this user. */
export function encodeUserCursor(emailNormalized: string): string {
  return Buffer.from(emailNormalized, 'utf8').toString('base64url');
}

/**
 * Turns `limit + 1` fetched rows into a page: the extra row only says that another page exists.
 * The cursor is the stored key of the last row (`keyOf`), which orders the listing: an account
 * left with an older key by the NFC migration (see {@link planEmailKeys}) is ordered by that.
 */
export function toUserPage<Row>(rows: Row[], limit: number, toUser: (row: Row) => UserRecord, keyOf: (row: Row) => string): Page<UserRecord> {
  const kept = rows.slice(0, limit);
  const last = kept.at(-1);
  return { items: kept.map(toUser), nextCursor: rows.length > limit && last !== undefined ? encodeUserCursor(keyOf(last)) : null };
}

/**
 * An account whose e-mail key the NFC migration left as it was, because the key it should have
 * now is another account's (`heldBy`): the two addresses are one in NFC. Ids only: the address
 * is personal data, and the operator looks it up by id.
 */
export interface EmailKeyConflict {
  userId: string;
  heldBy: string;
}

/** A row the NFC migration looks at: its address as entered and its stored key. */
export interface EmailKeyRow {
  id: string;
  email: string;
  emailNormalized: string;
  createdAt: number;
}

/**
 * Which stored keys the NFC migration (users schema version 3 in SQLite and PostgreSQL) changes,
 * and in which order, so that the UNIQUE key never fails half-way and the hub still starts.
 *
 * `rows` are the candidates (rows whose address is not ASCII: an ASCII address's key cannot
 * change); `holders` maps each key some candidate should now have to the account that holds it
 * today, if any. A row whose key changes gets it unless another account holds it: an account
 * that already holds its key keeps it (its sign-in works today and must not stop), otherwise the
 * oldest account (`createdAt`, then id) gets it. Each row left as it was is reported as a
 * conflict, in that order: its owner can no longer sign in by that address (every form of it
 * now finds the other account, which has the same mailbox), and the operator resolves it by
 * deleting it by id (nothing can change its address: only its owner could, signed in). Pure: no I/O.
 *
 * @example
 * planEmailKeys([{ id: 'u1', email: 'E\u0301@x.io', emailNormalized: 'e\u0301@x.io', createdAt: 1 }], new Map());
 * // { moves: [{ id: 'u1', key: '\u00e9@x.io' }], conflicts: [] }
 */
export function planEmailKeys(rows: readonly EmailKeyRow[], holders: ReadonlyMap<string, string>): { moves: { id: string; key: string }[]; conflicts: EmailKeyConflict[] } {
  const held = new Map(holders);
  const changing = rows
    .map((row) => ({ row, key: normalizeEmail(row.email) }))
    .filter(({ row, key }) => key !== row.emailNormalized)
    .sort((a, b) => a.row.createdAt - b.row.createdAt || (a.row.id < b.row.id ? -1 : a.row.id > b.row.id ? 1 : 0));
  const moved = changing.map(() => false);
  const moves: { id: string; key: string }[] = [];
  for (let i = 0; i < changing.length; i += 1) {
    const { row, key } = changing[i]!;
    if (moved[i] || held.has(key)) continue;
    moved[i] = true;
    moves.push({ id: row.id, key });
    held.set(key, row.id);
    // A move that frees a key some row wants: start again, so the oldest such row gets it.
    if (held.get(row.emailNormalized) === row.id && held.delete(row.emailNormalized)) i = -1;
  }
  return { moves, conflicts: changing.filter((_, i) => !moved[i]).map(({ row, key }) => ({ userId: row.id, heldBy: held.get(key)! })) };
}
