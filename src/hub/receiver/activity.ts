/**
 * A request that brings a live site cookie to the site's receiver (`loader.js` on a page,
 * `session.json` from the site's backend) is the session in use, on that site rather than at the
 * hub. It slides the idle expiry exactly as the hub's own pages do (src/hub/middleware/session.ts:
 * throttled to one store write per `sessions.touchIntervalSeconds`, never past the absolute
 * expiry), and its projections follow: without this, a visitor busy on a site without code would
 * be signed out after the idle timeout for never visiting the hub.
 */
import { nowSeconds } from '../../core/clock';
import { touchDue } from '../../core/sessions/session';
import type { SessionRecord, UserRecord } from '../../ports';
import type { HubDeps } from '../deps';
import { holderOf } from '../handoff/mint';
import { sessionPolicy } from '../middleware/session';
import { refreshProjections } from '../projection/projections';

/**
 * Slides `record`'s idle expiry when due and refreshes its projections. Returns the record as it
 * is now, or null when it ended between the read and the touch.
 *
 * @param user - the session's user when the caller has it already (null: anonymous); looked up
 * only when a projection needs it.
 */
export async function slideSiteSession(deps: HubDeps, record: SessionRecord, user?: UserRecord | null): Promise<SessionRecord | null> {
  const due = touchDue(record, nowSeconds(deps.clock), sessionPolicy(deps));
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
