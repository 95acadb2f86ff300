/**
 * `POST /logout`: ends this browser's session everywhere (src/hub/revocation/revoke.ts) and
 * clears the cookie. The signed-out page fires a front-channel logout beacon
 * (`<site><receiverPath>logout?token=<logout token>`) at every site that held the session, so
 * each can clear its cookie at once (DESIGN.md "The flows" 4).
 */
import type { Context } from 'koa';
import { mintLogout } from '../../core/tokens/logout';
import type { SessionRecord } from '../../ports';
import type { HubDeps } from '../deps';
import { siteRegistry } from '../handoff/sites';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { logoutBeaconsView, logoutView } from '../views/login';

/** One front-channel logout URL per configured site that held `ended`. */
function frontChannelUrls(deps: HubDeps, ended: SessionRecord): string[] {
  const registry = siteRegistry(deps.config);
  return ended.sites.flatMap((link) => {
    const site = registry.resolve(link.site);
    if (site === null) return [];
    const token = mintLogout(deps.keyring, { audience: site.origin, sid: ended.sid, sub: ended.userId }, { clock: deps.clock, issuer: deps.config.publicUrl });
    return [`${site.origin}${site.receiverPath}logout?token=${token}`];
  });
}

export const logout: RouteFactory = (deps) => ({
  name: 'logout',
  method: 'POST',
  kind: 'page',
  path: '/logout',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireCsrfToken,
    async function endSession(ctx: Context) {
      const ended = await ctx.state.sessionControl.logout('user-logout');
      const beacons = ended === null ? [] : frontChannelUrls(deps, ended);
      renderPage(ctx, { title: 'Signed out', body: logoutView({ csrf: '', signedIn: false }), tail: beacons.length === 0 ? null : logoutBeaconsView(beacons) });
    },
  ],
});
