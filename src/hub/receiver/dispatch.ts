/**
 * The hub as receiver (DESIGN.md "Three ways for a site to take part"): a site with no code of
 * its own has its reverse proxy route `<receiverPath>` to the hub with `Host` kept. This
 * middleware runs before every hub route: when the request's host (`ctx.host`, which honours
 * `X-Forwarded-Host` only with `trustProxy`) is a configured site's and the path is under that
 * site's receiver prefix, it answers as that site's receiver and never falls through to the
 * hub's own pages — anything else under the prefix is a 404. Every answer carries
 * RECEIVER_HEADERS, like the SDK's receiver, which shares the same core pieces.
 *
 * Not run here: the hub session, the hub's CSP and CSRF middleware. The receiver's requests are
 * authenticated by the token (beacons, accept, front-channel logout), the state cookie (accept)
 * or the site cookie (loader, session.json, logout started from the site, which also checks
 * Origin / Sec-Fetch-Site), and none renders HTML.
 */
import type { Context, Middleware } from 'koa';
import { TesseraError } from '../../core/errors';
import { RECEIVER_HEADERS, parseReceiverPath } from '../../core/receiver/receiver';
import type { HubDeps } from '../deps';
import { siteRegistry } from '../handoff/sites';
import { parseBody } from '../middleware/body';
import { isProjected, projectionStore } from '../projection/projections';
import { acceptRoute } from './routes/accept';
import { beaconRoute } from './routes/beacon';
import { loaderRoute } from './routes/loader';
import { logoutRoute } from './routes/logout';
import { sessionJsonRoute } from './routes/session-json';
import { startRoute } from './routes/start';

function allowOnly(ctx: Context, methods: readonly string[]): void {
  if (methods.includes(ctx.method)) return;
  ctx.set('Allow', methods.join(', '));
  throw new TesseraError('ERR_BAD_REQUEST', 'Method not allowed', { status: 405 });
}

export function siteReceiver(deps: HubDeps): Middleware {
  const registry = siteRegistry(deps.config);
  // Fail at start-up, not at the first handoff, when a projected site has nowhere to project.
  if (registry.all().some(isProjected)) projectionStore(deps);
  const readBody = parseBody(deps.config.limits.maxBodyBytes);
  const beacon = beaconRoute(deps);
  const accept = acceptRoute(deps);
  const start = startRoute(deps);
  const loader = loaderRoute(deps);
  const session = sessionJsonRoute(deps);
  const logout = logoutRoute(deps);

  // Handed to Node as they are, without Koa's per-call coercion: every receiver answer sets them.
  const receiverHeaders = Object.entries(RECEIVER_HEADERS);

  // Not async (Koa turns a synchronous throw into a rejection): most requests only pass through.
  return function routeToSiteReceiver(ctx, next) {
    const site = registry.byHost(ctx.host);
    const { path } = ctx;
    if (site === null || !path.startsWith(site.receiverPath)) return next();
    for (const [name, value] of receiverHeaders) ctx.res.setHeader(name, value);
    const request = parseReceiverPath(path, site.receiverPath);
    switch (request?.route) {
      case 'beacon':
        allowOnly(ctx, ['GET']);
        return beacon(ctx, site, request);
      case 'accept':
        allowOnly(ctx, ['GET', 'POST']);
        return readBody(ctx, () => accept(ctx, site));
      case 'start':
        allowOnly(ctx, ['GET']);
        return start(ctx, site);
      case 'loader':
        allowOnly(ctx, ['GET']);
        return loader(ctx, site);
      case 'session':
        allowOnly(ctx, ['GET']);
        return session(ctx, site);
      case 'logout':
        allowOnly(ctx, ['GET', 'POST']);
        return readBody(ctx, () => logout(ctx, site));
      default:
        // backchannel-logout is the SDK's: the hub never sends itself a logout token.
        throw new TesseraError('ERR_NOT_FOUND', 'Not found');
    }
  };
}
