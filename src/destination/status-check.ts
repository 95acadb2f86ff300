/**
 * `requireActiveSession()`: for sensitive routes, asks the hub whether the visitor's hub session
 * is still active (`POST /api/v1/sites/status`, site credential) before going on, so a revoked
 * session is refused even if this site missed the back-channel logout. Answers are cached per
 * sid for `statusCheck.cacheSeconds` (default 5): a revocation is seen within that time. An
 * inactive session ends here (every local session of the sid, remembered as ended) and the
 * request goes on anonymous; when the hub cannot be asked, the route fails closed (503).
 *
 * The hub answers "active" only for a session it knows this site holds. So a link report that
 * did not reach the hub (its proof kept in the session, kept-proof.ts) is made again first; if
 * it still does not, an "inactive" answer may only mean the hub lacks the link, and the route
 * fails closed (503) rather than sign the visitor out. When the hub answers that report with
 * "the session has ended", the session has ended here already (kept-proof.ts) and the request
 * goes on anonymous without a status check.
 */
import type Koa from 'koa';
import { TesseraError } from '../core/errors';
import type { DestinationDeps } from './deps';
import { reportKeptProof } from './kept-proof';
import { endLocally } from './logout';
import { sessionOf } from './session';

/** Beyond this many cached answers the cache starts over: it must not grow without bound. */
const MAX_CACHED = 10_000;

export function requireActiveSessionMiddleware(deps: DestinationDeps): Koa.Middleware {
  if (!deps.hub.enabled) throw new TesseraError('ERR_CONFIG_INVALID', 'requireActiveSession() needs a "credential" to ask the hub');
  const cacheMs = deps.options.statusCheck.cacheSeconds * 1000;
  const cache = new Map<string, { active: boolean; untilMs: number }>();

  async function isActive(sid: string): Promise<boolean> {
    const now = deps.options.clock.now();
    const cached = cache.get(sid);
    if (cached !== undefined && cached.untilMs > now) return cached.active;
    if (cache.size >= MAX_CACHED) cache.clear();
    const active = await deps.hub.status(sid);
    if (cacheMs > 0) cache.set(sid, { active, untilMs: now + cacheMs });
    return active;
  }

  return async (ctx, next) => {
    const tessera: unknown = ctx.state.tessera;
    if (tessera === undefined) throw new TesseraError('ERR_CONFIG_INVALID', 'requireActiveSession() must be mounted after middleware()');
    if (tessera !== null) {
      const { sid } = tessera as { sid: string };
      const report = await reportKeptProof(deps, ctx, sid);
      if (report === 'ended') return next();
      if (report === 'recorded') cache.delete(sid);
      if (!(await isActive(sid))) {
        if (report === 'unreachable') throw new TesseraError('ERR_HUB_UNAVAILABLE', 'the hub does not know yet that this site holds the session (its link report did not reach it)');
        await endLocally(deps, sid);
        // koa-session: null destroys this browser's session and clears its cookie.
        if (sessionOf(ctx) !== null) (ctx as unknown as { session: unknown }).session = null;
        ctx.state.tessera = null;
        deps.logger.info({ sid }, 'status check: the hub session has ended; local session ended');
      }
    }
    return next();
  };
}
