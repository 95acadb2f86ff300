/**
 * The receiver's routes under the prefix, all wired here (one file per route in routes/):
 *
 *   GET  <token>.js | <token>.gif   beacon          routes/beacon.ts
 *   POST accept, GET accept         bounce return   routes/accept.ts
 *   GET  loader.js                  beacon snippet  routes/loader.ts
 *   GET  start                      bounce start    routes/start.ts
 *   POST backchannel-logout         hub's logout    routes/backchannel-logout.ts
 *   GET  logout, POST logout        front-channel / routes/logout.ts
 *                                   site-started logout
 *
 * Paths are parsed by the core (parseReceiverPath), so this SDK and the hub-as-receiver answer
 * the same URLs; `session.json` (the hub-as-receiver's) is not served here and falls through
 * to the app. Every answer carries RECEIVER_HEADERS.
 */
import type Koa from 'koa';
import { RECEIVER_HEADERS, parseReceiverPath, type ReceiverRequest } from '../core/receiver/receiver';
import type { DestinationDeps } from './deps';
import { answerAccept } from './routes/accept';
import { answerBackchannelLogout } from './routes/backchannel-logout';
import { answerBeacon } from './routes/beacon';
import { answerLoader } from './routes/loader';
import { answerLogout } from './routes/logout';
import { answerStart } from './routes/start';

type Served = Extract<ReceiverRequest, { route: 'beacon' | 'accept' | 'loader' | 'start' | 'backchannel-logout' | 'logout' }>;

const METHODS: Record<Served['route'], readonly string[]> = {
  beacon: ['GET'],
  accept: ['GET', 'POST'],
  loader: ['GET'],
  start: ['GET'],
  'backchannel-logout': ['POST'],
  logout: ['GET', 'POST'],
};

/** The receiver request `path` names, when this SDK serves it; else null. */
export function servedRequest(path: string, prefix: string): Served | null {
  const request = parseReceiverPath(path, prefix);
  return request !== null && Object.hasOwn(METHODS, request.route) ? (request as Served) : null;
}

/** Koa middleware answering the receiver routes; any other path goes on to `next`. */
export function receiverRoutes(deps: DestinationDeps): Koa.Middleware {
  return async (ctx, next) => {
    const request = servedRequest(ctx.path, deps.options.prefix);
    if (request === null) return next();
    ctx.set(RECEIVER_HEADERS);
    const allowed = METHODS[request.route];
    if (!allowed.includes(ctx.method)) {
      ctx.set('Allow', allowed.join(', '));
      ctx.status = 405;
      return;
    }
    switch (request.route) {
      case 'beacon':
        return answerBeacon(deps, ctx, request.kind, request.token);
      case 'accept':
        return answerAccept(deps, ctx);
      case 'loader':
        return answerLoader(deps, ctx);
      case 'start':
        return answerStart(deps, ctx);
      case 'backchannel-logout':
        return answerBackchannelLogout(deps, ctx);
      case 'logout':
        return answerLogout(deps, ctx);
    }
  };
}
