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
import { accountActivity } from './routes/account-activity';
import { accountEmail } from './routes/account-email';
import { accountEmailConfirm } from './routes/account-email-confirm';
import { accountEmailConfirmPage } from './routes/account-email-confirm-page';
import { accountEmailPage } from './routes/account-email-page';
import { accountName } from './routes/account-name';
import { accountPage } from './routes/account-page';
import { accountTwoStepCodes } from './routes/account-two-step-codes';
import { accountTwoStepDisable } from './routes/account-two-step-disable';
import { accountTwoStepEnable } from './routes/account-two-step-enable';
import { accountTwoStepPage } from './routes/account-two-step-page';
import { accountEndOthers } from './routes/account-end-others';
import { accountEndSession } from './routes/account-end-session';
import { accountPassword } from './routes/account-password';
import { accountPasswordPage } from './routes/account-password-page';
import { assets } from './routes/assets';
import { handoffBounce } from './routes/handoff-bounce';
import { healthz } from './routes/healthz';
import { jwks } from './routes/jwks';
import { loginEmail } from './routes/login-email';
import { loginPage } from './routes/login-page';
import { loginPassword } from './routes/login-password';
import { loginCode } from './routes/login-code';
import { loginCodePage } from './routes/login-code-page';
import { logout } from './routes/logout';
import { logoutPage } from './routes/logout-page';
import { magicLinkConsume } from './routes/magic-link-consume';
import { magicLinkPage } from './routes/magic-link-page';
import { metrics } from './routes/metrics';
import { readyz } from './routes/readyz';
import { siteBeacons } from './routes/site-beacons';
import { siteLinks } from './routes/site-links';
import { siteLogout } from './routes/site-logout';
import { siteStatus } from './routes/site-status';

const routeFactories: RouteFactory[] = [
  healthz,
  readyz,
  metrics,
  jwks,
  assets,
  loginPage,
  loginPassword,
  loginEmail,
  loginCodePage,
  loginCode,
  magicLinkPage,
  magicLinkConsume,
  logoutPage,
  logout,
  accountPage,
  accountEndSession,
  accountEndOthers,
  accountPasswordPage,
  accountActivity,
  accountName,
  accountEmailPage,
  accountEmail,
  accountEmailConfirmPage,
  accountEmailConfirm,
  accountTwoStepPage,
  accountTwoStepEnable,
  accountTwoStepDisable,
  accountTwoStepCodes,
  accountPassword,
  handoffBounce,
  siteBeacons,
  siteLinks,
  siteStatus,
  siteLogout,
  ...adminApiRoutes,
  ...adminWebRoutes,
];

/** Every route registered on a router, and the routes without path parameters by `METHOD path`. */
function registerRoutes(deps: HubDeps): { router: Router; exact: Map<string, Middleware> } {
  const router = new Router();
  const exact = new Map<string, Middleware>();
  const seen = new Map<string, number>();
  const session = hubSession(deps);
  const page = pageSecurity(deps.config.sites.map((s) => s.origin));
  const body = parseBody(deps.config.limits.maxBodyBytes);
  const prefix: Record<'page' | 'session' | 'plain', Middleware[]> = { page: [page, session], session: [session], plain: [] };
  for (const factory of routeFactories) {
    const route = factory(deps);
    const reads = route.method === 'POST' ? [body] : [];
    const stack = [...reads, ...prefix[route.kind], ...route.middleware];
    router.register(route.path, [route.method], stack, { name: route.name });
    const key = `${route.method} ${route.path}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    if (!route.path.includes(':')) exact.set(key, chain(stack));
  }
  // A method and path registered twice run one after the other: the router's business.
  for (const [key, count] of seen) if (count > 1) exact.delete(key);
  return { router, exact };
}

export function createRouter(deps: HubDeps): Router {
  return registerRoutes(deps).router;
}

/**
 * Every route as one middleware. A request for a route's exact method and path (nearly every
 * request: only admin paths carry parameters) goes straight to that route's middleware: one map
 * lookup instead of the router matching the path against every route and composing the match
 * per request, a measurable part of a page's time (bench/README.md). Everything else (path
 * parameters, HEAD, OPTIONS, a method a path lacks, a trailing slash) goes through the router and
 * its `allowedMethods`, exactly as before; no route reads what the router adds to the context.
 */
export function hubRoutes(deps: HubDeps): Middleware {
  const { router, exact } = registerRoutes(deps);
  // Typed for a context that already has the `params` and `router` the router itself adds.
  const routed = chain([router.routes(), router.allowedMethods()] as unknown as Middleware[]);
  return function routeRequest(ctx, next) {
    const route = exact.get(`${ctx.method} ${ctx.path}`);
    return route === undefined ? routed(ctx, next) : route(ctx, next);
  };
}

/**
 * `stack` run in order, each calling the next by `next()`, as Koa runs its own middleware (a
 * middleware that throws rejects, as with koa-compose).
 */
function chain(stack: readonly Middleware[]): Middleware {
  return function runChain(ctx, next) {
    const step = (i: number): Promise<unknown> => {
      if (i === stack.length) return next();
      try {
        return Promise.resolve(stack[i]!(ctx, () => step(i + 1)));
      } catch (err) {
        return Promise.reject(err);
      }
    };
    return step(0);
  };
}
