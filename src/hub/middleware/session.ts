/**
 * The hub's session middleware. Cookie `__Host-tessera` = `sid.secret`,
 * `HttpOnly; Secure; SameSite=Lax; Path=/`, no Domain; the store keeps SHA-256(secret).
 *
 * Why not koa-session with an external store: koa-session looks a session up by the whole
 * cookie value as an opaque key and writes the whole record back when it changed. Our store is
 * keyed by the public `sid` (admins revoke and list by it, tokens carry it) and keeps only a
 * hash of the secret, compared in constant time; login must atomically kill the old sid and
 * store a new one (`SessionStore.rotate`); sliding expiry is a throttled `touch`, not a rewrite;
 * and the absolute expiry must never move. Mapping those onto koa-session's get/set/destroy
 * would hide each of them behind its "changed" heuristics, so this thin middleware does exactly
 * those operations on the same SessionStore port. (The destination SDK, whose sessions are the
 * site's own, does use koa-session.)
 *
 * Rules enforced here (SECURITY.md "Sessions"):
 * - a session is created only when there is something to keep (data or a login);
 * - an unknown, malformed or forged cookie is never adopted: it is cleared and ignored;
 * - login gets a new sid and secret, the old sid dies in the same store operation, anonymous data
 *   is carried over;
 * - a disabled or deleted user's session is ended on sight.
 *
 * CSRF stance: every POST form carries a token. With a session it is HMAC(secret, "csrf"), so it
 * is bound to the session and changes at login; before a session exists it is a random value in
 * a `__Host-tessera-csrf` cookie (double submit; `__Host-` stops a sibling domain planting it).
 * The Origin / Sec-Fetch-Site check lives in csrf.ts.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { nowSeconds } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import {
  createSessionRecord,
  formatCookieValue,
  parseCookieValue,
  secretMatches,
  touchDue,
  type SessionPolicy,
} from '../../core/sessions/session';
import type { SessionRecord, UserRecord } from '../../ports';
import { clearCookie, setCookie, type CookieAttributes } from '../cookies';
import type { HubDeps } from '../deps';
import { holderOf } from '../handoff/mint';
import { deleteProjectionsBestEffort, projectionKeys, refreshProjections } from '../projection/projections';
import { revokeSession, type RevokeReason } from '../revocation/revoke';

export const sessionCookieName = '__Host-tessera';
export const preSessionCsrfCookieName = '__Host-tessera-csrf';

const hubCookie: CookieAttributes = { httpOnly: true, secure: true, sameSite: 'lax', path: '/' };

/** The typed view routes read as `ctx.state.session`. */
export interface HubSessionView {
  /** Null while the visitor has no session. */
  sid: string | null;
  user: UserRecord | null;
  data: Readonly<Record<string, unknown>>;
  createdAt: number | null;
  lastSeenAt: number | null;
  /** Origins of the sites that hold this session. */
  sites: string[];
  persistent: boolean;
}

export interface LoginOptions {
  persistent?: boolean;
}

/** Operations routes perform on the current session: `ctx.state.sessionControl`. */
export interface SessionControl {
  /** Signs `user` in: new sid and secret, old session ended, anonymous data carried over. */
  login(user: UserRecord, options?: LoginOptions): Promise<SessionRecord>;
  /** Replaces the session's data, creating an anonymous session if there is none yet. */
  setData(data: Record<string, unknown>): Promise<void>;
  /**
   * Ends the current session (if any) everywhere (src/hub/revocation/revoke.ts) and clears the
   * cookie. Returns what was ended.
   */
  logout(reason?: RevokeReason): Promise<SessionRecord | null>;
  /** The CSRF token for forms on this page (sets the pre-session cookie when needed). */
  csrfToken(): string;
  /** Constant-time check of a submitted CSRF token. */
  csrfValid(submitted: unknown): boolean;
  /** The stored record behind the view, or null. */
  record(): SessionRecord | null;
}

declare module 'koa' {
  interface DefaultState {
    session: HubSessionView;
    sessionControl: SessionControl;
  }
}

export function sessionPolicy(deps: HubDeps): SessionPolicy {
  const s = deps.config.sessions;
  return { idleTimeoutSeconds: s.idleTimeoutSeconds, absoluteTimeoutSeconds: s.absoluteTimeoutSeconds, touchIntervalSeconds: s.touchIntervalSeconds };
}

function csrfFromSecret(secret: string): string {
  return createHmac('sha256', secret).update('tessera csrf v1').digest('base64url');
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function viewOf(record: SessionRecord | null, user: UserRecord | null): HubSessionView {
  return {
    sid: record?.sid ?? null,
    user,
    data: record?.data ?? {},
    createdAt: record?.createdAt ?? null,
    lastSeenAt: record?.lastSeenAt ?? null,
    sites: record?.sites.map((s) => s.site) ?? [],
    persistent: record?.persistent ?? false,
  };
}

/**
 * A request that uses a live session slides its idle expiry (throttled to one store write per
 * `sessions.touchIntervalSeconds`, never past the absolute expiry) and its projections follow.
 * The hub's pages do it here; a site's receiver (`loader.js` on a page, `session.json` from the
 * site's backend) does it too, or a visitor busy only on a site without code would be signed
 * out after the idle timeout for never visiting the hub. Returns the record as it is now, or
 * null when it ended between the read and the touch.
 *
 * @param user - the session's user when the caller has it already (null: anonymous); looked up
 * only when a projection needs it.
 */
export async function slideSession(deps: HubDeps, record: SessionRecord, user?: UserRecord | null): Promise<SessionRecord | null> {
  const due = touchDue(record, nowSeconds(deps.clock), deps.config.sessions);
  if (due === null) return record;
  if (!(await deps.sessions.touch(record.sid, due.lastSeenAt, due.idleExpiresAt))) return null;
  const slid = { ...record, ...due };
  if (!slid.sites.some((link) => link.projectionKey !== null)) return slid;
  let holderUser = user;
  if (holderUser === undefined) {
    const holder = await holderOf(deps, slid);
    // A disabled user's session travels no further; the hub ends it on its next visit.
    if (holder === null) return slid;
    holderUser = holder.user;
  }
  await refreshProjections(deps, slid, holderUser);
  return slid;
}

export function hubSession(deps: HubDeps): Middleware {
  const policy = sessionPolicy(deps);
  const { sessions, users, clock, config } = deps;

  function writeSessionCookie(ctx: Context, record: SessionRecord, secret: string): void {
    const maxAge = record.persistent ? record.absoluteExpiresAt - nowSeconds(clock) : null;
    setCookie(ctx, sessionCookieName, formatCookieValue(record.sid, secret), { ...hubCookie, maxAge });
  }

  /** Applies the per-user concurrent-session limit before a new session is stored. */
  async function enforceSessionLimit(userId: string, replacingSid: string | null): Promise<void> {
    const max = config.sessions.maxPerUser;
    if (max === null) return;
    const live = (await sessions.listByUser(userId)).filter((s) => s.sid !== replacingSid);
    if (live.length < max) return;
    if (config.sessions.onLimit === 'refuse') {
      throw new TesseraError('ERR_SESSION_LIMIT', 'You are signed in on too many devices. Sign out elsewhere first.');
    }
    // end-oldest: listByUser is newest first, so the oldest are at the end.
    for (const old of live.slice(max - 1)) await revokeSession(deps, old.sid, 'session-limit', 'system');
  }

  /**
   * The limit checked again once the new session is stored. {@link enforceSessionLimit} counts
   * and then the login stores: sign-ins racing on a store with real I/O all pass the count
   * together, and only a count taken after storing sees them. Each sign-in that finds the user
   * over the limit then gives way: `refuse` ends its own new session; `end-oldest` ends every
   * session beyond the newest `max`, its own included when it is among them. Either way no more
   * than `max` sessions outlive the race (a later count sees every earlier one), at the price of
   * refusing more sign-ins than strictly needed when many land in the same instant.
   */
  async function settleSessionLimit(userId: string, newSid: string): Promise<void> {
    const max = config.sessions.maxPerUser;
    if (max === null) return;
    const live = await sessions.listByUser(userId);
    if (live.length <= max) return;
    const ending = config.sessions.onLimit === 'refuse' ? [newSid] : live.slice(max).map((s) => s.sid);
    for (const sid of ending) await revokeSession(deps, sid, 'session-limit', 'system');
    if (ending.includes(newSid)) throw new TesseraError('ERR_SESSION_LIMIT', 'You are signed in on too many devices. Sign out elsewhere first.');
  }

  return async function loadHubSession(ctx, next) {
    let record: SessionRecord | null = null;
    let secret: string | null = null;
    let user: UserRecord | null = null;

    const raw = ctx.cookies.get(sessionCookieName);
    const parsed = parseCookieValue(raw);
    if (parsed !== null) {
      const found = await sessions.get(parsed.sid);
      if (found !== null && secretMatches(found.secretHash, parsed.secret)) {
        record = found;
        secret = parsed.secret;
      }
    }
    if (raw !== undefined && record === null) clearCookie(ctx, sessionCookieName, hubCookie);

    if (record?.userId != null) {
      user = await users.findById(record.userId);
      if (user === null || user.disabled) {
        await revokeSession(deps, record.sid, 'user-disabled', 'system');
        clearCookie(ctx, sessionCookieName, hubCookie);
        record = null;
        secret = null;
        user = null;
      }
    }

    if (record !== null) {
      const slid = await slideSession(deps, record, user);
      if (slid !== null) record = slid;
      else {
        // Revoked between the read and the touch: this request is already signed out.
        clearCookie(ctx, sessionCookieName, hubCookie);
        record = null;
        secret = null;
        user = null;
      }
    }

    let preSessionToken: string | null = ctx.cookies.get(preSessionCsrfCookieName) ?? null;
    if (preSessionToken !== null && !/^[A-Za-z0-9_-]{43}$/.test(preSessionToken)) preSessionToken = null;

    const control: SessionControl = {
      async login(loginUser, options = {}) {
        await enforceSessionLimit(loginUser.id, record?.sid ?? null);
        const created = createSessionRecord(
          {
            userId: loginUser.id,
            // Only anonymous data follows the person into their account (a basket); a previous
            // user's data never passes to the next one signing in on the same browser.
            data: record !== null && (record.userId === null || record.userId === loginUser.id) ? record.data : {},
            ip: ctx.ip || null,
            userAgent: ctx.get('User-Agent').slice(0, 512) || null,
            persistent: options.persistent ?? false,
            now: nowSeconds(clock),
          },
          policy,
        );
        // An anonymous session is swapped for the new one atomically. A signed-in one (someone
        // signing in again, or another person on the same browser) is ended the way every
        // session ends, so the sites that held it hear of it (back-channel) and keep no session
        // of the previous identity.
        let rotated = false;
        if (record !== null && record.userId === null) {
          rotated = await sessions.rotate(record.sid, created.record);
          // The anonymous session's links died with it; the projections they named go too.
          if (rotated) await deleteProjectionsBestEffort(deps, projectionKeys([record]));
        } else if (record !== null) await revokeSession(deps, record.sid, 'session-replaced', 'system');
        if (!rotated) await sessions.create(created.record);
        // The previous session is gone (rotated or ended), whatever the limit decides now.
        record = null;
        secret = null;
        await settleSessionLimit(loginUser.id, created.record.sid);
        record = created.record;
        secret = created.secret;
        user = loginUser;
        ctx.state.session = viewOf(record, user);
        writeSessionCookie(ctx, record, secret);
        if (preSessionToken !== null) clearCookie(ctx, preSessionCsrfCookieName, hubCookie);
        return record;
      },
      async setData(data) {
        if (record === null) {
          const created = createSessionRecord(
            { userId: null, data, ip: ctx.ip || null, userAgent: ctx.get('User-Agent').slice(0, 512) || null, now: nowSeconds(clock) },
            policy,
          );
          await sessions.create(created.record);
          record = created.record;
          secret = created.secret;
          writeSessionCookie(ctx, record, secret);
        } else {
          if (!(await sessions.setData(record.sid, data))) throw new TesseraError('ERR_SESSION_ENDED', 'The session has ended.');
          record = { ...record, data };
        }
        ctx.state.session = viewOf(record, user);
      },
      async logout(reason = 'user-logout') {
        const ended = record === null ? null : await revokeSession(deps, record.sid, reason, record.userId === null ? 'system' : `user:${record.userId}`);
        if (record !== null || raw !== undefined) clearCookie(ctx, sessionCookieName, hubCookie);
        record = null;
        secret = null;
        user = null;
        ctx.state.session = viewOf(null, null);
        return ended;
      },
      csrfToken() {
        if (secret !== null) return csrfFromSecret(secret);
        if (preSessionToken === null) {
          preSessionToken = randomBytes(32).toString('base64url');
          setCookie(ctx, preSessionCsrfCookieName, preSessionToken, hubCookie);
        }
        return preSessionToken;
      },
      csrfValid(submitted) {
        if (typeof submitted !== 'string' || submitted === '') return false;
        if (secret !== null) return sameToken(submitted, csrfFromSecret(secret));
        return preSessionToken !== null && sameToken(submitted, preSessionToken);
      },
      record: () => record,
    };

    ctx.state.session = viewOf(record, user);
    ctx.state.sessionControl = control;
    await next();
  };
}
