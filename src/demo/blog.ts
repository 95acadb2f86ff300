/**
 * The "Blog" demo site takes part with no Tessera code at all: the hub is its receiver. Like a
 * PHP or Python site behind nginx, it does two things:
 * - its reverse proxy routes `/shared-session/*` to the hub with the `Host` header kept, so the
 *   hub answers beacons, `accept`, `start` and `loader.js` as this site and sets this site's
 *   cookie;
 * - its pages ask the hub who is signed in by requesting `/shared-session/session.json` through
 *   that same proxy path with the visitor's `Cookie` header.
 *
 * A page without a session bounces once with `prompt=none` (the hub's `start` sends the browser
 * straight back while a `login_required` is on record); `bounced=1` in the return URL stops a
 * second bounce from the same visit, so a visitor who is signed in nowhere never loops.
 */
import type http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import Koa from 'koa';
import { renderSitePage, type DemoVisitor } from './page';
import type { DemoSite, DemoSiteOptions } from './sites';

const RECEIVER_PREFIX = '/shared-session/';

/** RFC 9110 §7.6.1: connection-specific headers are not forwarded by a proxy. */
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function forwardable(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !hopByHop.has(name)) out[name] = value;
  }
  return out;
}

/**
 * Builds the blog. Its proxy connects to the hub's public URL (through `options.agent`).
 *
 * @example
 * https.createServer(tls, createBlogSite({ site, others, hubUrl, agent, logger }).listener);
 */
export function createBlogSite(options: DemoSiteOptions): DemoSite {
  const hub = new URL(options.hubUrl);
  const siteHost = new URL(options.site.origin).host;

  /** One request to the hub as this site: `Host` is the site's, whatever the connection's target. */
  function hubRequest(method: string, path: string, headers: http.OutgoingHttpHeaders): { request: http.ClientRequest; response: Promise<http.IncomingMessage> } {
    const request = https.request({ hostname: hub.hostname, port: hub.port, method, path, agent: options.agent, servername: hub.hostname, headers: { ...headers, host: siteHost } });
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      request.once('response', resolve);
      request.once('error', reject);
    });
    return { request, response };
  }

  const app = new Koa();
  app.silent = true;

  app.use(async function reportErrors(ctx, next) {
    try {
      await next();
    } catch (err) {
      options.logger.error({ err, site: options.site.origin, path: ctx.path }, 'blog request failed');
      ctx.status = 502;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'The hub did not answer.';
    }
  });

  app.use(async function proxyReceiver(ctx, next) {
    if (!ctx.path.startsWith(RECEIVER_PREFIX)) return next();
    const forwardedFor = [ctx.get('x-forwarded-for'), ctx.req.socket.remoteAddress].filter(Boolean).join(', ');
    const { request, response } = hubRequest(ctx.method, ctx.url, { ...forwardable(ctx.req.headers), 'x-forwarded-for': forwardedFor, 'x-forwarded-proto': 'https' });
    const [, upstream] = await Promise.all([pipeline(ctx.req, request), response]);
    // The proxy writes the hub's answer through untouched: status, Set-Cookie, receiver headers.
    ctx.respond = false;
    ctx.res.writeHead(upstream.statusCode ?? 502, forwardable(upstream.headers));
    await pipeline(upstream, ctx.res);
  });

  app.use(async function homePage(ctx) {
    if (ctx.method !== 'GET' || ctx.path !== '/') {
      ctx.status = 404;
      ctx.body = 'Not found';
      return;
    }
    const lookup = await whoIsSignedIn(ctx.get('cookie'));
    if (lookup.setCookie.length > 0) ctx.append('Set-Cookie', lookup.setCookie);
    const here = new URL(ctx.originalUrl, options.site.origin);
    if (lookup.visitor === null && here.searchParams.get('bounced') !== '1') {
      here.searchParams.set('bounced', '1');
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 303;
      ctx.redirect(`${RECEIVER_PREFIX}start?${new URLSearchParams({ return_to: here.href, prompt: 'none' }).toString()}`);
      return;
    }
    const page = renderSitePage({ site: options.site, others: options.others, hubUrl: options.hubUrl, visitor: lookup.visitor, returnTo: `${options.site.origin}/` });
    ctx.set(page.headers);
    ctx.body = page.body;
  });

  async function whoIsSignedIn(cookie: string): Promise<{ visitor: DemoVisitor | null; setCookie: string[] }> {
    const { request, response } = hubRequest('GET', `${RECEIVER_PREFIX}session.json`, cookie ? { cookie, accept: 'application/json' } : { accept: 'application/json' });
    request.end();
    const answer = await response;
    const chunks: Buffer[] = [];
    for await (const chunk of answer) chunks.push(chunk as Buffer);
    const setCookie = answer.headers['set-cookie'] ?? [];
    if (answer.statusCode === 401) return { visitor: null, setCookie };
    if (answer.statusCode !== 200) throw new Error(`session.json answered ${answer.statusCode}`);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
    return {
      visitor: { sid: text(body.sid) ?? '', sub: text(body.sub), email: text(body.email), name: text(body.name), src: text(body.src) ?? '' },
      setCookie,
    };
  }

  return { listener: app.callback(), close: async () => {} };
}
