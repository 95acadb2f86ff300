/**
 * Ending a hub session on this site, however the news arrives: a back-channel logout token from
 * the hub (routes/backchannel-logout.ts), a front-channel beacon (routes/logout.ts), a status
 * check that found the sid inactive (status-check.ts), or the hub's answer to a link report that
 * the session has ended (link-report.ts).
 */
import type Koa from 'koa';
import { nowSeconds } from '../core/clock';
import { HANDOFF_MAX_TTL_SECONDS } from '../core/tokens/handoff';
import { verifyLogout, type VerifiedLogoutToken } from '../core/tokens/logout';
import type { DestinationDeps } from './deps';
import { sessionOf, tesseraFromSession } from './session';

/**
 * Verifies a logout token for this site through the hub's JWKS, the same key lookup handoff
 * tokens use: only `typ: logout+jwt` passes (a handoff token is refused, and the reverse), and
 * its jti is spent once in the site's replay store. Rejects with `ERR_LOGOUT_*`
 * (`ERR_HUB_UNAVAILABLE` when the JWKS cannot be fetched).
 */
export function verifyLogoutForSite(deps: DestinationDeps, token: unknown): Promise<VerifiedLogoutToken> {
  const rules = deps.verification;
  return verifyLogout(token, {
    keys: rules.keys,
    algorithms: rules.algorithms,
    issuer: rules.issuer,
    audience: rules.audience,
    clock: rules.clock,
    clockToleranceSeconds: deps.options.clockToleranceSeconds,
    maxTokenBytes: deps.options.maxTokenBytes,
    rememberJti: (jti, expiresAt, sid) => deps.replay.rememberOnce(jti, expiresAt, sid),
  });
}

/**
 * Destroys every local session holding `sid` (through the store's sid index) and remembers the
 * sid as ended for as long as a handoff token minted before the end could still be presented.
 * Returns how many local sessions ended.
 */
export async function endLocally(deps: DestinationDeps, sid: string): Promise<number> {
  const { options } = deps;
  await deps.ended.add(sid, nowSeconds(options.clock) + HANDOFF_MAX_TTL_SECONDS + options.clockToleranceSeconds);
  return deps.sessions.destroyBySid(sid);
}

/**
 * {@link endLocally} from a request of this site: when this browser's session holds `sid`, it is
 * destroyed and its cookie cleared (koa-session: null; a session left in place would be saved
 * back at the end of the request), and the request goes on without it (`ctx.state.tessera` null).
 */
export async function endInRequest(deps: DestinationDeps, ctx: Koa.Context, sid: string): Promise<void> {
  await endLocally(deps, sid);
  if (tesseraFromSession(sessionOf(ctx))?.sid !== sid) return;
  (ctx as unknown as { session: unknown }).session = null;
  ctx.state.tessera = null;
}
