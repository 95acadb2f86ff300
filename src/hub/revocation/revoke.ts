/**
 * Ending a session everywhere (DESIGN.md "The flows" 4): the one operation behind user logout
 * at the hub, logout started from a site, "sign out everywhere else", admin revoke, a disabled
 * user, a password change and the per-user session limit.
 *
 * Order matters. The store forgets the session and its site links first, in one operation: from
 * then on the hub, every hub-as-receiver site and every projection refuse it, and a handoff token
 * still in flight finds `unknown-session`. Then the audit event, then one outbox delivery per
 * SDK site that held the session: durable before the worker is kicked, so a crash in between
 * only delays the back-channel logout until the next poll (of any hub instance sharing the outbox).
 */
import type { Site } from '../../config/schema';
import type { NewDelivery, SessionRecord } from '../../ports';
import type { HubDeps } from '../deps';
import { siteRegistry } from '../handoff/sites';

/** Why a session ended; stored as the audit event's `reason` and the delivery's `reason`. */
export type RevokeReason =
  | 'user-logout'
  | 'user-ended-other'
  | 'user-ended-others'
  | 'site-logout'
  | 'admin'
  | 'user-disabled'
  | 'session-limit'
  | 'password-changed';

/**
 * What revocation needs. `deliveries` is the outbox worker of this process; without one (the
 * CLI) deliveries wait for the next poll of a hub's worker.
 */
export type RevocationDeps = Pick<HubDeps, 'sessions' | 'outbox' | 'audit' | 'config' | 'clock' | 'logger'> & { deliveries?: { kick(): void } };

/** One pending back-channel logout per site of `ended` that has a `backchannelLogoutUri`. */
function deliveriesFor(deps: RevocationDeps, ended: SessionRecord, reason: RevokeReason): NewDelivery[] {
  const registry = siteRegistry(deps.config);
  const deliveries: NewDelivery[] = [];
  for (const link of ended.sites) {
    const site: Site | null = registry.resolve(link.site);
    if (site?.backchannelLogoutUri == null) continue;
    deliveries.push({ site: site.origin, uri: site.backchannelLogoutUri, sid: ended.sid, sub: ended.userId, reason });
  }
  return deliveries;
}

/** Audit and outbox for sessions the store has already removed. */
async function announce(deps: RevocationDeps, ended: SessionRecord[], reason: RevokeReason, actor: string): Promise<void> {
  const deliveries: NewDelivery[] = [];
  for (const record of ended) {
    await deps.audit.append({
      type: 'session.revoked',
      actor,
      userId: record.userId,
      sid: record.sid,
      reason,
      details: { sites: record.sites.length },
    });
    deps.logger.info({ event: 'session.revoked', sid: record.sid, userId: record.userId, reason, actor, sites: record.sites.length }, 'session ended');
    deliveries.push(...deliveriesFor(deps, record, reason));
  }
  if (deliveries.length === 0) return;
  await deps.outbox.enqueue(deliveries);
  deps.deliveries?.kick();
}

/**
 * Ends one session at once and tells every site that held it. Returns what was removed, or
 * null when the session was not live (nothing is recorded then: ending it twice is harmless).
 *
 * @param actor `user:<id>`, `admin:<userId>`, `admin-token:<id>`, `cli`, `site:<origin>` or `system`
 *
 * @example
 * await revokeSession(deps, sid, 'admin', `admin:${admin.id}`);
 */
export async function revokeSession(deps: RevocationDeps, sid: string, reason: RevokeReason, actor: string): Promise<SessionRecord | null> {
  const ended = await deps.sessions.revoke(sid);
  if (ended === null) return null;
  await announce(deps, [ended], reason, actor);
  return ended;
}

/**
 * Ends every live session of a user (but `options.exceptSid`, "sign out everywhere else") and
 * tells every site that held one. Returns what was removed.
 *
 * @example
 * await revokeUserSessions(deps, user.id, 'user-disabled', 'cli');
 */
export async function revokeUserSessions(
  deps: RevocationDeps,
  userId: string,
  reason: RevokeReason,
  actor: string,
  options: { exceptSid?: string } = {},
): Promise<SessionRecord[]> {
  let ended: SessionRecord[];
  if (options.exceptSid === undefined) {
    ended = await deps.sessions.revokeUser(userId);
  } else {
    ended = [];
    for (const live of await deps.sessions.listByUser(userId)) {
      if (live.sid === options.exceptSid) continue;
      const removed = await deps.sessions.revoke(live.sid);
      if (removed !== null) ended.push(removed);
    }
  }
  await announce(deps, ended, reason, actor);
  return ended;
}
