/**
 * The hub as a Koa application. `createHub(deps)` wires middleware and routes and returns the
 * app; it never listens (tests drive `app.callback()`, `tessera serve` listens).
 */
import Koa from 'koa';
import type { HubDeps } from './deps';
import { errorHandler } from './middleware/errors';
import { requestContext } from './middleware/request-context';
import { siteReceiver } from './receiver/dispatch';
import { securityHeaders } from './middleware/security-headers';
import { hubRoutes } from './routes';

/**
 * Builds the hub application.
 *
 * @example
 * const app = createHub(hubDeps(config, systemClock, logger, stores, keyring)); // src/main.ts
 * http.createServer(app.callback()).listen(8080);
 */
export function createHub(deps: HubDeps): Koa {
  // With a trusted proxy, X-Forwarded-For's rightmost entry is the one that proxy appended; the
  // rest is whatever the client sent. Rate limits and session records use that one address.
  const app = new Koa({ proxy: deps.config.trustProxy, maxIpsCount: 1 });
  app.use(requestContext(deps.logger));
  app.use(errorHandler());
  // Before the hub's own headers and routes: a site's receiver answers like the SDK's would, and
  // a request for a site's receiver path never reaches a hub page.
  app.use(siteReceiver(deps));
  app.use(securityHeaders({ https: deps.config.publicUrl.startsWith('https:') }));
  app.use(hubRoutes(deps));
  // Errors are answered and logged by errorHandler; Koa's default handler would print them again.
  app.silent = true;
  return app;
}
