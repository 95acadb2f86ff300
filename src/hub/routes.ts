/** Every route of the hub, wired in one place. */
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { adminApiRoutes } from './admin/api/routes';
import { adminWebRoutes } from './admin/web/routes';
import type { HubDeps } from './deps';
import { parseBody } from './middleware/body';
import { pageSecurity } from './middleware/page';
import { hubSession } from './middleware/session';
import type { RouteFactory } from './route';
import { accountPage } from './routes/account-page';
import { accountEndOthers } from './routes/account-end-others';
import { accountEndSession } from './routes/account-end-session';
import { assets } from './routes/assets';
import { handoffBounce } from './routes/handoff-bounce';
import { healthz } from './routes/healthz';
import { jwks } from './routes/jwks';
import { loginEmail } from './routes/login-email';
import { loginPage } from './routes/login-page';
import { loginPassword } from './routes/login-password';
import { logout } from './routes/logout';
import { logoutPage } from './routes/logout-page';
import { magicLinkConsume } from './routes/magic-link-consume';
import { magicLinkPage } from './routes/magic-link-page';
import { readyz } from './routes/readyz';
import { siteBeacons } from './routes/site-beacons';
import { siteLinks } from './routes/site-links';
import { siteLogout } from './routes/site-logout';
import { siteStatus } from './routes/site-status';

const routeFactories: RouteFactory[] = [
  healthz,
  readyz,
  jwks,
  assets,
  loginPage,
  loginPassword,
  loginEmail,
  magicLinkPage,
  magicLinkConsume,
  logoutPage,
  logout,
  accountPage,
  accountEndSession,
  accountEndOthers,
  handoffBounce,
  siteBeacons,
  siteLinks,
  siteStatus,
  siteLogout,
  ...adminApiRoutes,
  ...adminWebRoutes,
];

export function createRouter(deps: HubDeps): Router {
  const router = new Router();
  const session = hubSession(deps);
  const page = pageSecurity(deps.config.sites.map((s) => s.origin));
  const body = parseBody(deps.config.limits.maxBodyBytes);
  const prefix: Record<'page' | 'session' | 'plain', Middleware[]> = { page: [page, session], session: [session], plain: [] };
  for (const factory of routeFactories) {
    const route = factory(deps);
    const reads = route.method === 'POST' ? [body] : [];
    router.register(route.path, [route.method], [...reads, ...prefix[route.kind], ...route.middleware], { name: route.name });
  }
  return router;
}
