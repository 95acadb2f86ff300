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
 */
export function toUserPage(rows: UserRecord[], limit: number): Page<UserRecord> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeUserCursor(normalizeEmail(last.email)) : null };
}
