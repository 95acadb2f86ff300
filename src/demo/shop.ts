/**
 * The "Shop" demo site: a Koa app with the destination SDK, the way most Node sites will take
 * part. `middleware()` mounts the receiver under `/shared-session/` and provides the site's own
 * session and `ctx.state.tessera`; `requireSession()` bounces a visitor with no session once
 * through the hub (`prompt=none`), and after a `login_required` lets them in anonymous without
 * bouncing again. Tokens are verified through the hub's JWKS; the demo's agent trusts the demo
 * CA and reaches `hub.tessera.localhost` on loopback.
 */
import Koa from 'koa';
import { createDestination } from '../destination';
import { renderSitePage, type DemoVisitor } from './page';
import type { DemoSite, DemoSiteOptions } from './sites';

/** The visitor as the SDK describes them, in the page's terms. */
export function visitorFromSdk(tessera: { sid: string; sub: string | null; claims: Record<string, unknown>; src: string } | null): DemoVisitor | null {
  if (tessera === null) return null;
  const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  return { sid: tessera.sid, sub: tessera.sub, email: text(tessera.claims.email), name: text(tessera.claims.name), src: tessera.src };
}

/**
 * Builds the shop.
 *
 * @example
 * https.createServer(tls, createShopSite({ site, others, hubUrl, agent, logger, credential }).listener);
 */
export function createShopSite(options: DemoSiteOptions): DemoSite {
  const destination = createDestination({
    hubUrl: options.hubUrl,
    siteOrigin: options.site.origin,
    sites: options.others.map((other) => other.origin),
    ...(options.credential === undefined ? {} : { credential: options.credential }),
    cookie: { name: options.cookieName },
    agent: options.agent,
    logger: options.logger,
  });

  const app = new Koa();
  app.silent = true;
  app.use(destination.middleware());
  app.use(async function notFound(ctx, next) {
    if (ctx.method === 'GET' && ctx.path === '/') return next();
    ctx.status = 404;
    ctx.body = 'Not found';
  });
  app.use(destination.requireSession());
  app.use(async function homePage(ctx) {
    const page = renderSitePage({ site: options.site, others: options.others, hubUrl: options.hubUrl, visitor: visitorFromSdk(ctx.state.tessera ?? null), returnTo: `${options.site.origin}/` });
    ctx.set(page.headers);
    ctx.body = page.body;
  });

  return { listener: app.callback(), close: () => destination.close() };
}
