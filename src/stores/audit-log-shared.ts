/**
 * What every `AuditLog` adapter does the same way: checking an event before it is stored (a
 * known type; small, flat details with nothing named like a secret), the query's SQL, and paging
 * newest first by id. The id alone orders and resumes: it is unique and only ever increases, so
 * a page never repeats or skips an event even while new ones are appended between pages.
 */
import { TesseraError } from '../core/errors';
import { AUDIT_EVENT_TYPES, type AuditDetails, type AuditEvent, type AuditEventType, type AuditFilter, type NewAuditEvent, type Page, type PageRequest } from '../ports';
import { pageSize } from './user-store-shared';

/** Details are a few facts for a person to read, not a payload (ports.ts `AuditDetails`). */
const maxDetailsBytes = 2048;

/**
 * Keys that name a secret. The log never holds one (SECURITY.md): a caller that passes a token
 * or a cookie by mistake is refused rather than trusted to have redacted it.
 */
const secretLookingKey = /token|secret|password|cookie|authorization/i;

const knownTypes: ReadonlySet<string> = new Set(AUDIT_EVENT_TYPES);

/** An event as an adapter stores it, before the store assigns its id. */
export type AuditEntry = Omit<AuditEvent, 'id'>;

function badRequest(message: string): TesseraError {
  return new TesseraError('ERR_BAD_REQUEST', message);
}

function isFlatValue(value: unknown): boolean {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** A copy of `details` once it passed every rule of ports.ts `AuditDetails`. */
function checkedDetails(details: unknown): AuditDetails {
  const prototype = typeof details === 'object' && details !== null ? (Object.getPrototypeOf(details) as unknown) : undefined;
  if (prototype !== Object.prototype && prototype !== null) throw badRequest('audit details must be a plain object');
  const checked: AuditDetails = {};
  for (const [key, value] of Object.entries(details as object)) {
    if (secretLookingKey.test(key)) throw badRequest(`audit details must not hold "${key}": the name says it is a secret`);
    if (!isFlatValue(value)) throw badRequest(`audit detail "${key}" must be a string, a finite number, a boolean or null`);
    checked[key] = value as AuditDetails[string];
  }
  if (Buffer.byteLength(JSON.stringify(checked)) > maxDetailsBytes) throw badRequest(`audit details must be at most ${maxDetailsBytes} bytes as JSON`);
  return checked;
}

/**
 * The entry `append` stores for `event` at time `at`, with its defaults; `ERR_BAD_REQUEST` for
 * an unknown type or details that break the rules.
 */
export function newAuditEntry(event: NewAuditEvent, at: number): AuditEntry {
  if (!knownTypes.has(event.type)) throw badRequest(`unknown audit event type "${String(event.type)}"`);
  return {
    at,
    type: event.type,
    actor: event.actor ?? null,
    userId: event.userId ?? null,
    sid: event.sid ?? null,
    site: event.site ?? null,
    ip: event.ip ?? null,
    reason: event.reason ?? null,
    details: checkedDetails(event.details === undefined ? {} : event.details),
  };
}

/** `ERR_BAD_REQUEST` unless `value` is whole Unix seconds. */
export function checkedTime(value: number, name: string): number {
  if (!Number.isSafeInteger(value)) throw badRequest(`"${name}" must be whole Unix seconds`);
  return value;
}

/** How one SQL dialect binds values: each call adds a value and returns SQL that uses it. */
export interface SqlBinder {
  /** The placeholder of one value. */
  value(value: string | number): string;
  /** A condition that `column` equals one of `values`. */
  oneOf(column: string, values: readonly string[]): string;
}

/** The columns of the audit table, in the order of {@link AuditRow}. */
const auditColumns = 'id, at, type, actor, user_id, sid, site, ip, reason, details';

/**
 * The query for one page: the filter's conditions (each served by an index on that column and
 * `id`), resuming below the cursor's id, one row more than the page so the last page is known.
 */
export function auditPageQuery(filter: AuditFilter, page: PageRequest, bind: SqlBinder): { sql: string; limit: number } {
  const limit = pageSize(page);
  const beforeId = decodeAuditCursor(page.cursor);
  const conditions: string[] = [];
  if (Array.isArray(filter.type)) conditions.push(bind.oneOf('type', filter.type));
  else if (filter.type !== undefined) conditions.push(`type = ${bind.value(filter.type)}`);
  const equal: [string, string | undefined][] = [
    ['user_id', filter.userId],
    ['sid', filter.sid],
    ['site', filter.site],
    ['actor', filter.actor],
  ];
  for (const [column, value] of equal) if (value !== undefined) conditions.push(`${column} = ${bind.value(value)}`);
  if (filter.from !== undefined) conditions.push(`at >= ${bind.value(checkedTime(filter.from, 'from'))}`);
  if (filter.to !== undefined) conditions.push(`at <= ${bind.value(checkedTime(filter.to, 'to'))}`);
  if (beforeId !== null) conditions.push(`id < ${bind.value(beforeId)}`);
  const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
  return { sql: `SELECT ${auditColumns} FROM audit_log ${where} ORDER BY id DESC LIMIT ${bind.value(limit + 1)}`, limit };
}

/** The cursor that resumes below this id. */
function encodeAuditCursor(id: number): string {
  return Buffer.from(String(id), 'utf8').toString('base64url');
}

/** The id to resume below, or null for the first page; `ERR_BAD_REQUEST` for a cursor no store made. */
function decodeAuditCursor(cursor: string | null | undefined): number | null {
  if (cursor === undefined || cursor === null) return null;
  const id = Number(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!Number.isSafeInteger(id) || id < 1 || encodeAuditCursor(id) !== cursor) throw badRequest('malformed cursor');
  return id;
}

/** A row of the audit table as either driver returns it: pg gives `bigint` as a string and `jsonb` parsed. */
export interface AuditRow {
  id: number | string;
  at: number | string;
  type: string;
  actor: string | null;
  user_id: string | null;
  sid: string | null;
  site: string | null;
  ip: string | null;
  reason: string | null;
  /** JSON text (SQLite) or the parsed object (PostgreSQL `jsonb`). */
  details: string | AuditDetails;
}

function toAuditEvent(row: AuditRow): AuditEvent {
  return {
    id: Number(row.id),
    at: Number(row.at),
    type: row.type as AuditEventType,
    actor: row.actor,
    userId: row.user_id,
    sid: row.sid,
    site: row.site,
    ip: row.ip,
    reason: row.reason,
    details: typeof row.details === 'string' ? (JSON.parse(row.details) as AuditDetails) : row.details,
  };
}

/** Turns `limit + 1` fetched rows into a page: the extra row only says that another page exists. */
export function toAuditPage(rows: AuditRow[], limit: number): Page<AuditEvent> {
  const items = rows.slice(0, limit).map(toAuditEvent);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeAuditCursor(last.id) : null };
}
