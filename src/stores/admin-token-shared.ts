/**
 * What every `AdminTokenStore` adapter does the same way: minting a token, checking its shape
 * before any store query, the authentication decision, and reading rows back. Adapters supply
 * only the SQL.
 *
 * A token is `tsa_` + 256 random bits (base64url). Only SHA-256(token) is stored: a copy of the
 * database grants nothing, and with 256 bits of entropy a fast hash is enough (no password
 * hashing needed). The prefix lets secret scanners recognise a leaked token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TesseraError } from '../core/errors';
import { ADMIN_SCOPES, type AdminScope, type AdminTokenRecord, type CreatedAdminToken, type NewAdminToken } from '../ports';

const tokenPrefix = 'tsa_';

/** The prefix and exactly 43 base64url characters (256 bits). */
const tokenShape = /^tsa_[A-Za-z0-9_-]{43}$/;

/**
 * `lastUsedAt` is written at most this often: an API client polling every second must not turn
 * each request into a database write.
 */
const lastUsedResolutionSeconds = 60;

/** A name is a label in `tessera admin-tokens list`, not a document. */
const maxNameLength = 100;

const knownScopes: ReadonlySet<string> = new Set(ADMIN_SCOPES);

function badRequest(message: string): TesseraError {
  return new TesseraError('ERR_BAD_REQUEST', message);
}

function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Scopes in the order given, each once; `ERR_BAD_REQUEST` for none or an unknown one. */
function checkedScopes(scopes: readonly string[]): AdminScope[] {
  if (!Array.isArray(scopes) || scopes.length === 0) throw badRequest('an admin token needs at least one scope');
  for (const scope of scopes) {
    if (!knownScopes.has(scope)) throw badRequest(`unknown admin scope "${String(scope)}" (known: ${ADMIN_SCOPES.join(', ')})`);
  }
  return [...new Set(scopes as AdminScope[])];
}

/** A new token and what to store of it; `ERR_BAD_REQUEST` when the request breaks a rule. */
export function mintAdminToken(input: NewAdminToken, createdAt: number): CreatedAdminToken & { tokenHash: string } {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name.length === 0 || name.length > maxNameLength) throw badRequest(`an admin token's name must be 1 to ${maxNameLength} characters`);
  if (typeof input.createdBy !== 'string' || input.createdBy.length === 0) throw badRequest('"createdBy" must name who creates the token');
  if (input.expiresAt !== null && (!Number.isSafeInteger(input.expiresAt) || input.expiresAt <= createdAt)) {
    throw badRequest('"expiresAt" must be whole Unix seconds after now, or null');
  }
  const token = tokenPrefix + randomBytes(32).toString('base64url');
  return {
    token,
    tokenHash: sha256Hex(token),
    record: {
      id: randomBytes(16).toString('base64url'),
      name,
      scopes: checkedScopes(input.scopes),
      createdBy: input.createdBy,
      createdAt,
      expiresAt: input.expiresAt,
      lastUsedAt: null,
      revokedAt: null,
    },
  };
}

/** A stored token: its record and the hash it was found by. */
export interface StoredAdminToken {
  tokenHash: string;
  record: AdminTokenRecord;
}

/** The two queries authentication needs from an adapter. */
export interface AdminTokenLookup {
  findByHash(tokenHash: string): Promise<StoredAdminToken | null>;
  /** Sets `last_used_at = now` unless it already is at or after `now - resolution`. */
  markUsed(id: string, now: number, resolution: number): Promise<void>;
}

/**
 * ports.ts `AdminTokenStore.authenticate`. A string that cannot be a token never reaches the
 * store: a flood of garbage bearer values costs no queries.
 */
export async function authenticateAdminToken(token: string, now: number, lookup: AdminTokenLookup): Promise<AdminTokenRecord | null> {
  if (typeof token !== 'string' || !tokenShape.test(token)) return null;
  const tokenHash = sha256Hex(token);
  const found = await lookup.findByHash(tokenHash);
  // The index lookup compares hashes, whose timing tells an attacker nothing short of a SHA-256
  // preimage; the decision itself is made here, in constant time, whatever the database's
  // comparison rules.
  if (found === null || !timingSafeEqual(Buffer.from(found.tokenHash, 'hex'), Buffer.from(tokenHash, 'hex'))) return null;
  const { record } = found;
  if (record.revokedAt !== null || (record.expiresAt !== null && record.expiresAt <= now)) return null;
  if (record.lastUsedAt !== null && record.lastUsedAt > now - lastUsedResolutionSeconds) return record;
  await lookup.markUsed(record.id, now, lastUsedResolutionSeconds);
  return { ...record, lastUsedAt: now };
}

/** The columns of the token table, in the order of {@link AdminTokenRow}. */
export const adminTokenColumns = 'id, token_hash, name, scopes, created_by, created_at, expires_at, last_used_at, revoked_at';

/** A row of the token table as either driver returns it: pg gives `bigint` as a string and `text[]` as an array. */
export interface AdminTokenRow {
  id: string;
  token_hash: string;
  name: string;
  /** JSON array text (SQLite) or an array (PostgreSQL `text[]`). */
  scopes: string | string[];
  created_by: string;
  created_at: number | string;
  expires_at: number | string | null;
  last_used_at: number | string | null;
  revoked_at: number | string | null;
}

function optionalNumber(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}

export function toStoredAdminToken(row: AdminTokenRow): StoredAdminToken {
  return {
    tokenHash: row.token_hash,
    record: {
      id: row.id,
      name: row.name,
      scopes: (typeof row.scopes === 'string' ? JSON.parse(row.scopes) : row.scopes) as AdminScope[],
      createdBy: row.created_by,
      createdAt: Number(row.created_at),
      expiresAt: optionalNumber(row.expires_at),
      lastUsedAt: optionalNumber(row.last_used_at),
      revokedAt: optionalNumber(row.revoked_at),
    },
  };
}
