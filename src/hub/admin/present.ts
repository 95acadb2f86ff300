/**
 * What admins see of stored records, as JSON: never a secret hash, a password hash or session
 * data (which belongs to the application, not to the operator).
 */
import type { SessionRecord, UserRecord } from '../../ports';

/** A session as the admin API shows it. */
export interface SessionJson {
  sid: string;
  userId: string | null;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  ip: string | null;
  userAgent: string | null;
  persistent: boolean;
  sites: Array<{ site: string; linkedAt: number; src: string }>;
}

/** The admin view of a session: its site links without secret hashes or projection keys. */
export function sessionJson(s: SessionRecord): SessionJson {
  return {
    sid: s.sid,
    userId: s.userId,
    createdAt: s.createdAt,
    lastSeenAt: s.lastSeenAt,
    idleExpiresAt: s.idleExpiresAt,
    absoluteExpiresAt: s.absoluteExpiresAt,
    ip: s.ip,
    userAgent: s.userAgent,
    persistent: s.persistent,
    sites: s.sites.map((l) => ({ site: l.site, linkedAt: l.linkedAt, src: l.src })),
  };
}

/** A user as the admin API shows it. */
export interface UserJson {
  id: string;
  email: string;
  name: string | null;
  roles: string[];
  disabled: boolean;
  hasPassword: boolean;
  /** Whether two-step sign-in (TOTP) is on. */
  totpEnabled: boolean;
  createdAt: number;
  lastLoginAt: number | null;
}

/** The admin view of a user: whether a password and two-step sign-in are set, never a hash or secret. */
export function userJson(u: UserRecord): UserJson {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    roles: u.roles,
    disabled: u.disabled,
    hasPassword: u.passwordHash !== null,
    totpEnabled: u.totpEnabledAt !== null,
    createdAt: u.createdAt,
    lastLoginAt: u.lastLoginAt,
  };
}

