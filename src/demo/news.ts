/**
 * The "News" demo site: the destination SDK in a server that is not Koa — a bare
 * `node:https` request listener, as an Express or Fastify app would have. `handler(req, res)`
 * answers the receiver paths under `/shared-session/` (and says false for anything else), and
 * `readSession(req)` tells the page who is signed in. Without a session the page sends the
 * browser once to the receiver's `start` (`prompt=none`), which bounces through the hub, or
 * comes straight back while a `login_required` is on record; `bounced=1` in the return URL stops
 * a second round trip from the same visit.
 */
import type http from 'node:http';
import { createDestination } from '../destination';
import { renderSitePage } from './page';
import { visitorFromSdk } from './shop';
import type { DemoSite, DemoSiteOptions } from './sites';

/**
 * Builds the news site.
 *
 * @example
 * https.createServer(tls, createNewsSite({ site, others, hubUrl, agent, logger, credential }).listener);
 */
export function createNewsSite(options: DemoSiteOptions): DemoSite {
  const destination = createDestination({
    hubUrl: options.hubUrl,
    siteOrigin: options.site.origin,
    sites: options.others.map((other) => other.origin),
    ...(options.credential === undefined ? {} : { credential: options.credential }),
    cookie: { name: options.cookieName },
    agent: options.agent,
    logger: options.logger,
  });

  async function respond(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (await destination.handler(req, res)) return;
    const url = new URL(req.url ?? '/', options.site.origin);
    if (req.method !== 'GET' || url.pathname !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found');
      return;
    }
    const visitor = visitorFromSdk(await destination.readSession(req));
    if (visitor === null && url.searchParams.get('bounced') !== '1') {
      url.searchParams.set('bounced', '1');
      const start = `/shared-session/start?${new URLSearchParams({ return_to: url.href, prompt: 'none' }).toString()}`;
      res.writeHead(303, { location: start, 'cache-control': 'no-store' }).end();
      return;
    }
    const page = renderSitePage({ site: options.site, others: options.others, hubUrl: options.hubUrl, visitor, returnTo: `${options.site.origin}/` });
    res.writeHead(200, page.headers).end(page.body);
  }

  return {
    listener: (req, res) => {
      respond(req, res).catch((err: unknown) => {
        options.logger.error({ err }, 'news request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Something went wrong.');
      });
    },
    close: () => destination.close(),
  };
}
