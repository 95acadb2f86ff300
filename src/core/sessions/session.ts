/**
 * The hub's session rules, free of I/O (DESIGN.md "Names", SECURITY.md "Sessions"):
 * - `sid` is a 128-bit public handle; the cookie carries `sid.secret` with a 256-bit secret, and
 *   stores keep only SHA-256(secret), compared in constant time (lucia's `id.secret` shape).
 * - idle expiry slides, written at most once per `touchIntervalSeconds`; the absolute expiry is
 *   fixed at creation and never extended.
 * - nothing here trusts a cookie value: `parseCookieValue` accepts only the exact shape we
 *   issue, so an attacker-chosen value can at most be looked up and not found.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SessionRecord } from '../../ports';

export interface SessionPolicy {
  idleTimeoutSeconds: number;
  absoluteTimeoutSeconds: number;
  touchIntervalSeconds: number;
}

const sidPattern = /^[A-Za-z0-9_-]{22}$/;
const secretPattern = /^[A-Za-z0-9_-]{43}$/;

/** A new 128-bit session id, base64url (22 characters). */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/** A new 256-bit secret, base64url (43 characters). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What the store keeps of a secret: SHA-256, hex. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** True when `sid` has the shape of an id we issue. */
export function isSessionId(sid: unknown): sid is string {
  return typeof sid === 'string' && sidPattern.test(sid);
}

export function formatCookieValue(sid: string, secret: string): string {
  return `${sid}.${secret}`;
}

/** Splits a cookie value into sid and secret; null for anything not shaped exactly as issued. */
export function parseCookieValue(value: string | undefined): { sid: string; secret: string } | null {
  if (value === undefined || value.length !== 66) return null;
  const sid = value.slice(0, 22);
  const secret = value.slice(23);
  if (value[22] !== '.' || !sidPattern.test(sid) || !secretPattern.test(secret)) return null;
  return { sid, secret };
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secretHash: string, secret: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(secretHash, 'hex');
  return stored.length === presented.length && timingSafeEqual(stored, presented);
}

/** True while the record is within both its idle and its absolute expiry. */
export function isLive(record: Pick<SessionRecord, 'idleExpiresAt' | 'absoluteExpiresAt'>, now: number): boolean {
  return record.idleExpiresAt > now && record.absoluteExpiresAt > now;
}

export interface NewSessionInput {
  userId: string | null;
  data?: Record<string, unknown>;
  ip: string | null;
  userAgent: string | null;
  persistent?: boolean;
  now: number;
}

/**
 * A fresh record with a new sid and secret. The secret is returned once, for the cookie; the
 * record holds only its hash.
 */
export function createSessionRecord(input: NewSessionInput, policy: SessionPolicy): { record: SessionRecord; secret: string } {
  const secret = newSecret();
  const absoluteExpiresAt = input.now + policy.absoluteTimeoutSeconds;
  return {
    secret,
    record: {
      v: 1,
      sid: newSessionId(),
      secretHash: hashSecret(secret),
      userId: input.userId,
      data: input.data ?? {},
      createdAt: input.now,
      lastSeenAt: input.now,
      idleExpiresAt: Math.min(input.now + policy.idleTimeoutSeconds, absoluteExpiresAt),
      absoluteExpiresAt,
      ip: input.ip,
      userAgent: input.userAgent,
      persistent: input.persistent ?? false,
      sites: [],
    },
  };
}

/**
 * The sliding-expiry write due for a request at `now`, or null when the last write is recent
 * enough (store writes are throttled to one per `touchIntervalSeconds`). Never moves the idle
 * expiry past the absolute one.
 */
export function touchDue(record: SessionRecord, now: number, policy: SessionPolicy): { lastSeenAt: number; idleExpiresAt: number } | null {
  if (now - record.lastSeenAt < policy.touchIntervalSeconds) return null;
  return { lastSeenAt: now, idleExpiresAt: Math.min(now + policy.idleTimeoutSeconds, record.absoluteExpiresAt) };
}
