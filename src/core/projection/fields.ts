/**
 * What a projection holds: the session variables the hub writes into a site application's own
 * session (`$_SESSION['user_id']` in PHP), chosen per site with `projection.fields`, and how they
 * merge with the variables the application keeps there itself.
 *
 * The vocabulary (names are the variable names the application reads):
 *
 * | field | value |
 * |---|---|
 * | `sub`, `user_id` | the user's id (the tokens' `sub`); absent for an anonymous session |
 * | `sid`, `tessera_sid` | the session's public handle (what admins see and revoke) |
 * | `email`, `name`, `roles` | identity, only when the site's `claims` allow it (the schema checks); `name` absent when unset, `roles` a list |
 * | `created_at` | when the session began (sign-in, or the first data of an anonymous one), Unix seconds |
 * | `expires_at` | when the session ends at the latest (absolute timeout), Unix seconds |
 *
 * Merge rule: the hub owns exactly the configured names. Writing sets those that have a value,
 * removes those that have none now (a name the user cleared), and keeps every other variable
 * the application stored.
 */
import type { PhpValue } from './php';

/** Every field a projection can hold, as `projection.fields` names them. */
export const PROJECTION_FIELDS = ['sub', 'user_id', 'sid', 'tessera_sid', 'email', 'name', 'roles', 'created_at', 'expires_at'] as const;

export type ProjectionField = (typeof PROJECTION_FIELDS)[number];

/** The session a projection describes. */
export interface ProjectionSource {
  sid: string;
  /** Null for an anonymous session. */
  userId: string | null;
  createdAt: number;
  absoluteExpiresAt: number;
  /**
   * The identity claims allowed for the site, as the handoff token carries them (`email`,
   * `name`, `roles`); a claim that is not here is not projected.
   */
  identity: Readonly<Record<string, unknown>>;
}

/** Our variables: `fields` to write, `unset` (owned names without a value now) to remove. */
export interface ProjectedFields {
  fields: Record<string, PhpValue>;
  unset: string[];
}

function valueOf(field: ProjectionField, source: ProjectionSource): PhpValue | undefined {
  switch (field) {
    case 'sub':
    case 'user_id':
      return source.userId ?? undefined;
    case 'sid':
    case 'tessera_sid':
      return source.sid;
    case 'created_at':
      return source.createdAt;
    case 'expires_at':
      return source.absoluteExpiresAt;
    case 'email':
    case 'name':
      return typeof source.identity[field] === 'string' ? (source.identity[field] as string) : undefined;
    case 'roles': {
      const roles = source.identity.roles;
      return Array.isArray(roles) && roles.every((role) => typeof role === 'string') ? [...(roles as string[])] : undefined;
    }
  }
}

/**
 * The variables `fields` name, for `source`.
 *
 * @example
 * projectedFields(['user_id', 'email'], { sid, userId: 'u1', createdAt, absoluteExpiresAt, identity: { email: 'ada@example.org' } });
 * // { fields: { user_id: 'u1', email: 'ada@example.org' }, unset: [] }
 */
export function projectedFields(fields: readonly ProjectionField[], source: ProjectionSource): ProjectedFields {
  const set: Record<string, PhpValue> = {};
  const unset: string[] = [];
  for (const field of fields) {
    const value = valueOf(field, source);
    if (value === undefined) unset.push(field);
    else set[field] = value;
  }
  return { fields: set, unset };
}

/**
 * `session` (the application's variables, as decoded) with `ours` merged in, or null when it
 * already holds exactly our values: then nothing needs writing, and the application's data is
 * never re-encoded for nothing (a re-encoding loses what JavaScript cannot tell apart, such as
 * PHP's `2.0` from `2`; see ./php.ts).
 */
export function mergeProjection(session: Readonly<Record<string, PhpValue>>, ours: ProjectedFields): Record<string, PhpValue> | null {
  const current = Object.entries(ours.fields).every(([name, value]) => Object.hasOwn(session, name) && samePhpValue(session[name]!, value)) && ours.unset.every((name) => !Object.hasOwn(session, name));
  if (current) return null;
  const merged: Record<string, PhpValue> = {};
  // defineProperty, not `=`: an application variable named `__proto__` would otherwise set the
  // prototype (and be dropped from what is written back) instead of staying a variable.
  const put = (name: string, value: PhpValue): void => void Object.defineProperty(merged, name, { value, enumerable: true, writable: true, configurable: true });
  for (const [name, value] of Object.entries(session)) if (!ours.unset.includes(name)) put(name, value);
  for (const [name, value] of Object.entries(ours.fields)) put(name, value);
  return merged;
}

function samePhpValue(a: PhpValue, b: PhpValue): boolean {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((key, i) => key === keysB[i] && samePhpValue((a as Record<string, PhpValue>)[key]!, (b as Record<string, PhpValue>)[key]!));
}

/**
 * When a projection should disappear: with the session's idle expiry (moved by every refresh),
 * or `ttlSeconds` from now when the site sets one — never after the session's absolute expiry.
 */
export function projectionExpiresAt(ttlSeconds: number | null, session: { idleExpiresAt: number; absoluteExpiresAt: number }, now: number): number {
  const wanted = ttlSeconds === null ? session.idleExpiresAt : now + ttlSeconds;
  return Math.min(wanted, session.absoluteExpiresAt);
}
