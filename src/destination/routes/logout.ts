/**
 * `<prefix>logout`:
 *
 * - `GET …/logout?token=<logout token>`: a front-channel logout beacon, an `<img>` on the hub's
 *   signed-out page. The token is verified like a back-channel one (logout tokens only, jti
 *   once); then every local session of its sid ends and this browser's cookie is cleared. The
 *   answer is the 1×1 GIF either way (200 or 400).
 * - `POST …/logout`: "sign out" started from a page of this site, a same-origin form POST with
 *   the site's cookie. The hub ends the session everywhere (`POST /api/v1/sites/logout`, with
 *   the site credential), local sessions of the sid end too, and the browser goes to `/`.
 */
import type Koa from 'koa';
import { TesseraError } from '../../core/errors';
import { beaconResponse, isSameOriginForm } from '../../core/receiver/receiver';
import { requireSecure } from '../bounce';
import type { DestinationDeps } from '../deps';
import { endLocally, verifyLogoutForSite } from '../logout';
import { logRejection } from '../rejection';
import { sessionOf, tesseraFromSession } from '../session';

async function frontChannel(deps: DestinationDeps, ctx: Koa.Context): Promise<void> {
  let accepted = true;
  let status: number | null = null;
  try {
    const { claims } = await verifyLogoutForSite(deps, ctx.query.token);
    await endLocally(deps, claims.sid);
    if (tesseraFromSession(sessionOf(ctx))?.sid === claims.sid) clearSession(ctx);
  } catch (err) {
    accepted = false;
    status = logRejection(deps.logger, 'logout.gif', err).status;
  }
  const response = beaconResponse('image', accepted);
  ctx.status = status ?? response.status;
  ctx.type = response.type;
  ctx.body = response.body;
}

/** The browser must say the form is this site's own (see isSameOriginForm). */
function requireSameOrigin(ctx: Koa.Context, siteOrigin: string): void {
  if (!isSameOriginForm({ origin: ctx.get('Origin'), fetchSite: ctx.get('Sec-Fetch-Site') }, siteOrigin)) {
    throw new TesseraError('ERR_CROSS_SITE', 'Cross-site request refused');
  }
}

async function siteStarted(deps: DestinationDeps, ctx: Koa.Context): Promise<void> {
  try {
    requireSecure(ctx);
    requireSameOrigin(ctx, deps.options.siteOrigin);
    const tessera = tesseraFromSession(sessionOf(ctx));
    if (tessera !== null) {
      // Locally first: this browser is signed out here even if the hub cannot be reached.
      await endLocally(deps, tessera.sid);
      clearSession(ctx);
      await deps.hub.logout(tessera.sid);
      deps.logger.info({ sid: tessera.sid }, 'signed out from this site: the hub ended the session');
    }
    ctx.status = 303;
    ctx.redirect(`${deps.options.siteOrigin}/`);
  } catch (err) {
    const { code, status } = logRejection(deps.logger, 'logout', err);
    ctx.status = status;
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = `Signing out failed (${code}).\n`;
  }
}

/** koa-session: null destroys the session and clears its cookie. */
function clearSession(ctx: Koa.Context): void {
  (ctx as unknown as { session: unknown }).session = null;
  ctx.state.tessera = null;
}

export async function answerLogout(deps: DestinationDeps, ctx: Koa.Context): Promise<void> {
  return ctx.method === 'POST' ? siteStarted(deps, ctx) : frontChannel(deps, ctx);
}
