/**
 * `<receiverPath>logout` on a site whose receiver is the hub:
 *
 * - `GET …/logout?token=<logout token>`: a front-channel logout beacon, an `<img>` on the hub's
 *   signed-out page. The token is verified as a logout token only (`typ: logout+jwt`, this site
 *   as audience, jti spent once); when the browser's site cookie names the token's sid, it is
 *   cleared. The session itself already ended in the store: this only tidies the browser. The
 *   answer is the 1×1 GIF whatever happened (200 or 400), never cached.
 * - `POST …/logout`: "sign out" started from a page of the site (a same-origin form POST that
 *   sends the site cookie). The hub ends the cookie's session everywhere (reason `site-logout`,
 *   actor `site:<origin>`), clears the cookie and sends the browser to the site's `/`.
 */
import type { Context } from 'koa';
import type { Site } from '../../../config/schema';
import { TesseraError } from '../../../core/errors';
import { beaconResponse, isSameOriginForm } from '../../../core/receiver/receiver';
import { verifyLogout } from '../../../core/tokens/logout';
import { clearCookie } from '../../cookies';
import type { HubDeps } from '../../deps';
import { revokeSession } from '../../revocation/revoke';
import { parseSiteCookieValue, readSiteSession, siteCookieAttributes } from '../site-cookie';

function isClientRejection(err: unknown): err is { code: string; status: number } {
  const e = err as { code?: unknown; status?: unknown };
  return typeof e?.code === 'string' && typeof e.status === 'number' && e.status < 500;
}

export function logoutRoute(deps: HubDeps) {
  const { config } = deps;

  async function frontChannel(ctx: Context, site: Site): Promise<void> {
    let cleared = false;
    try {
      const { claims } = await verifyLogout(ctx.query.token, {
        keys: (kid) => deps.keyring.verificationKey(kid),
        algorithms: [config.tokens.algorithm],
        issuer: config.publicUrl,
        audience: site.origin,
        clock: deps.clock,
        clockToleranceSeconds: config.tokens.clockToleranceSeconds,
        maxTokenBytes: config.tokens.maxTokenBytes,
        rememberJti: (jti, expiresAt, sid) => deps.replay.rememberOnce(jti, expiresAt, sid),
      });
      if (parseSiteCookieValue(site, ctx.cookies.get(site.cookie.name))?.sid === claims.sid) {
        clearCookie(ctx, site.cookie.name, siteCookieAttributes(site));
        cleared = true;
      }
      ctx.state.log.info({ event: 'front_channel_logout', site: site.origin, sid: claims.sid, cleared }, 'front-channel logout');
      respondGif(ctx, true);
    } catch (err) {
      if (!isClientRejection(err)) throw err;
      ctx.state.log.warn({ event: 'front_channel_logout', result: 'rejected', site: site.origin, code: err.code }, 'front-channel logout rejected');
      respondGif(ctx, false);
    }
  }

  async function siteStarted(ctx: Context, site: Site): Promise<void> {
    if (!isSameOriginForm({ origin: ctx.get('Origin'), fetchSite: ctx.get('Sec-Fetch-Site') }, site.origin)) {
      throw new TesseraError('ERR_CROSS_SITE', 'Cross-site request refused');
    }
    const current = (await readSiteSession(deps, site, ctx))?.current ?? null;
    if (current !== null) await revokeSession(deps, current.record.sid, 'site-logout', `site:${site.origin}`);
    if (ctx.cookies.get(site.cookie.name) !== undefined) clearCookie(ctx, site.cookie.name, siteCookieAttributes(site));
    ctx.status = 303;
    ctx.redirect(`${site.origin}/`);
  }

  return async function answerLogout(ctx: Context, site: Site): Promise<void> {
    if (ctx.method === 'POST') return siteStarted(ctx, site);
    return frontChannel(ctx, site);
  };
}

function respondGif(ctx: Context, accepted: boolean): void {
  const res = beaconResponse('image', accepted);
  ctx.status = res.status;
  ctx.type = res.type;
  ctx.body = res.body;
}
