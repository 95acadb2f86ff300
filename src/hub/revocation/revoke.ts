/**
 * Ending a session everywhere (DESIGN.md "The flows" 4): the one operation behind user logout
 * at the hub, logout started from a site, "sign out everywhere else", admin revoke, a disabled
 * or deleted user, a password change and the per-user session limit.
 *
 * Order matters. First one outbox delivery per SDK site that holds the session, durably: a
 * failure there fails the request with the session still live, so nothing is lost and a retry
 * works. Then its projections are deleted (the application's own session under the site cookie
 * value; a failure likewise stops here with the session live). Then the store forgets the
 * session and its site links in one operation: from then on
 * the hub, every hub-as-receiver site and every projection refuse it, and a handoff token still
 * in flight finds `unknown-session`. Site links that appeared between the read and the removal
 * get the same treatment after it, best effort. Then the worker is kicked (a crash before that
 * only delays the back-channel logout until the next poll of any hub sharing the outbox), and
 * the event is logged and audited — best effort, since the session has ended whatever the audit
 * store says.
 */
import { recordAudit } from '../audit/record';
import type { Site } from '../../config/schema';
import type { NewDelivery, SessionRecord } from '../../ports';
import type { HubMetrics } from '../../metrics/hub-metrics';
import type { HubDeps } from '../deps';
import { siteRegistry } from '../handoff/sites';
import { deleteProjections, deleteProjectionsBestEffort, projectionKeys } from '../projection/projections';

/** Why a session ended; stored as the audit event's `reason` and the delivery's `reason`. */
export type RevokeReason =
  | 'user-logout'
  | 'session-replaced'
  | 'user-ended-other'
  | 'user-ended-others'
  | 'site-logout'
  | 'admin'
  | 'user-disabled'
  | 'user-deleted'
  | 'session-limit'
  | 'password-changed'
  | 'two-step-changed';

/**
 * What revocation needs. `deliveries` is the outbox worker of this process; without one (the
 * CLI) deliveries wait for the next poll of a hub's worker. `metrics`, the hub's, counts each
 * ended session (the CLI has none to export).
 */
export type RevocationDeps = Pick<HubDeps, 'sessions' | 'outbox' | 'audit' | 'config' | 'clock' | 'logger' | 'projections'> & {
  deliveries?: { kick(): void };
  metrics?: Pick<HubMetrics, 'countRevocation'>;
};

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

/**
 * Queues the back-channel logouts for sessions about to end, before the store forgets them: if
 * the outbox write fails, the request fails with the sessions still live and can be retried; the
 * other way round, a failure would lose the deliveries for good (the session would already be
 * gone, and a retry would find nothing to end). A logout for a session whose removal then fails
 * is harmless: the site ends a session the hub still has, and the next handoff brings it back.
 */
async function queueDeliveries(deps: RevocationDeps, ending: SessionRecord[], reason: RevokeReason): Promise<boolean> {
  const deliveries = ending.flatMap((record) => deliveriesFor(deps, record, reason));
  if (deliveries.length === 0) return false;
  await deps.outbox.enqueue(deliveries);
  return true;
}

/**
 * Back-channel logouts for site links that appeared between the read and the removal (an SDK
 * site's link report, a sign-in of the user meanwhile): the store ended those sessions on these
 * sites too, and nothing else will tell the sites. Queued after the removal, so a failure is
 * only logged; the site's status check still answers that the session ended.
 */
async function queueLateDeliveries(deps: RevocationDeps, ended: SessionRecord[], read: SessionRecord[], reason: RevokeReason): Promise<boolean> {
  const queued = new Set(read.flatMap((record) => record.sites.map((link) => `${record.sid} ${link.site}`)));
  const late = ended.flatMap((record) => deliveriesFor(deps, { ...record, sites: record.sites.filter((link) => !queued.has(`${record.sid} ${link.site}`)) }, reason));
  if (late.length === 0) return false;
  try {
    await deps.outbox.enqueue(late);
    return true;
  } catch (err) {
    deps.logger.error({ err, event: 'session.revoked', result: 'late_deliveries_lost', deliveries: late.length }, 'queueing back-channel logouts for sites that got the session meanwhile failed');
    return false;
  }
}

/**
 * Projections of site links that appeared between the read and the removal (a handoff accepted
 * meanwhile). The ones read before were deleted before the removal, like the deliveries were
 * queued: a failure then stops the revocation with the session still live. These come too late
 * for that, so a failure is only logged; the purge ends them at their expiry.
 */
async function deleteLateProjections(deps: RevocationDeps, ended: SessionRecord[], read: SessionRecord[]): Promise<void> {
  const deleted = new Set(projectionKeys(read));
  await deleteProjectionsBestEffort(deps, projectionKeys(ended).filter((key) => !deleted.has(key)));
}

/** After the store removed them: wake the worker, then log and audit (best effort: it is done). */
function announce(deps: RevocationDeps, ended: SessionRecord[], queued: boolean, reason: RevokeReason, actor: string): void {
  if (queued) deps.deliveries?.kick();
  for (const record of ended) {
    deps.metrics?.countRevocation(reason);
    deps.logger.info({ event: 'session.revoked', sid: record.sid, userId: record.userId, reason, actor, sites: record.sites.length }, 'session ended');
    recordAudit(deps.audit, deps.logger, { type: 'session.revoked', actor, userId: record.userId, sid: record.sid, reason, details: { sites: record.sites.length } });
  }
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
  const live = await deps.sessions.get(sid);
  if (live === null) return null;
  const queued = await queueDeliveries(deps, [live], reason);
  await deleteProjections(deps, projectionKeys([live]));
  const ended = await deps.sessions.revoke(sid);
  if (ended === null) return null;
  await deleteLateProjections(deps, [ended], [live]);
  const queuedLate = await queueLateDeliveries(deps, [ended], [live], reason);
  announce(deps, [ended], queued || queuedLate, reason, actor);
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
  const ending = (await deps.sessions.listByUser(userId)).filter((live) => live.sid !== options.exceptSid);
  const queued = await queueDeliveries(deps, ending, reason);
  await deleteProjections(deps, projectionKeys(ending));
  let ended: SessionRecord[];
  if (options.exceptSid === undefined) {
    ended = await deps.sessions.revokeUser(userId);
  } else {
    ended = [];
    for (const live of ending) {
      const removed = await deps.sessions.revoke(live.sid);
      if (removed !== null) ended.push(removed);
    }
  }
  await deleteLateProjections(deps, ended, ending);
  const queuedLate = await queueLateDeliveries(deps, ended, ending, reason);
  announce(deps, ended, queued || queuedLate, reason, actor);
  return ended;
}
