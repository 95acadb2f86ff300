/**
 * What the site API lets a site see of a session: only one it holds. Every site learns the sids
 * of its own visitors, so a sid is no secret between sites; a site credential must therefore not
 * reach sessions its site never received (a link written by the hub as receiver or by a proven
 * link report, src/hub/site-api/link-proof.ts). For any other sid the answer is the one for an
 * unknown sid, after the same single store read, so the API is no oracle for other sites' sessions.
 */
import type { Site } from '../../config/schema';
import type { SessionRecord } from '../../ports';
import type { HubDeps } from '../deps';

/**
 * The live session `sid` when `site` holds a link to it; null when it is unknown, ended, or held
 * only by others.
 *
 * @example
 * const record = await sessionHeldBy(deps, ctx.state.callingSite, sid);
 * ctx.body = { active: record !== null };
 */
export async function sessionHeldBy(deps: HubDeps, site: Site, sid: string): Promise<SessionRecord | null> {
  const record = await deps.sessions.get(sid);
  return record !== null && record.sites.some((link) => link.site === site.origin) ? record : null;
}
