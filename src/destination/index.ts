/**
 * `tessera/destination`: the SDK a site's own Node app uses to accept the shared session
 * (DESIGN.md "Three ways for a site to take part", the first). See ./README.md.
 *
 * `createDestination(options)` wires, once per site:
 * - the receiver routes under the prefix (receiver.ts), verifying tokens with the core verifier
 *   and keys from the hub's JWKS (jwks.ts), spending each jti in the replay store;
 * - the site's own koa-session over an external store with a sid index (session.ts,
 *   session-store.ts, redis-session-store.ts), and `ctx.state.tessera`;
 * - the bounce (bounce.ts, require-session.ts), the site-to-hub API (hub-client.ts,
 *   link-report.ts, kept-proof.ts, beacon-source.ts) and the `session_replaced` event (events.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa from 'koa';
import { renderBeaconTags } from '../core/receiver/loader';
import { RECEIVER_HEADERS } from '../core/receiver/receiver';
import type { HandoffVerifyOptions } from '../core/tokens/handoff';
import { createLogger } from '../log/logger';
import { MemoryReplayStore } from '../stores/memory/replay-store';
import { RedisReplayStore } from '../stores/redis/replay-store';
import { BeaconSource } from './beacon-source';
import { MemoryEndedSessions, RedisEndedSessions, type EndedSessions } from './ended-sessions';
import type { DestinationDeps } from './deps';
import { createEventSink } from './events';
import { sessionEndedAtHub, verifyForSite, type EmbeddingPage } from './handoff';
import { HubClient } from './hub-client';
import { jwksKeyLookup } from './jwks';
import { reportKeptProof } from './kept-proof';
import { LinkReporter } from './link-report';
import { endLocally } from './logout';
import { resolveOptions, type DestinationLogger, type DestinationOptions, type ResolvedOptions } from './options';
import { receiverRoutes, servedRequest } from './receiver';
import { logRejection } from './rejection';
import { RedisSiteSessionStore } from './redis-session-store';
import { requireSessionMiddleware, type RequireSessionOptions } from './require-session';
import { requireActiveSessionMiddleware } from './status-check';
import { readSessionFromRequest, sessionMiddleware, sessionOf, tesseraFromSession, type TesseraState } from './session';
import { MemorySiteSessionStore, type SiteSessionStore } from './session-store';

export type { DestinationLogger, DestinationOptions, DestinationStore, SessionCookieOptions } from './options';
export type { EmbeddingPage } from './handoff';
export type { RequireSessionOptions } from './require-session';
export type { TesseraState } from './session';
export type { SessionReplacedEvent } from '../core/receiver/receiver';
export type { TesseraErrorCode } from '../core/errors';
export { TesseraError, hasCode } from '../core/errors';

/** How often the memory stores forget expired entries. */
const PURGE_INTERVAL_MS = 60_000;

/** A site's destination: what `createDestination` returns. */
export interface Destination {
  /**
   * Koa middleware: the site's session (`ctx.session`, koa-session), `ctx.state.tessera` on
   * every request, and the receiver routes under the prefix. Mount it early, once per app.
   */
  middleware(): Koa.Middleware;
  /** Koa middleware after `middleware()`: bounces a visitor without a session once through the hub. */
  requireSession(options?: RequireSessionOptions): Koa.Middleware;
  /**
   * Koa middleware after `middleware()`, for sensitive routes: asks the hub (cached for
   * `statusCheck.cacheSeconds`) whether the visitor's session is still active, and ends it here
   * when not (the request goes on anonymous). Needs `credential`; 503 when the hub cannot answer.
   */
  requireActiveSession(): Koa.Middleware;
  /**
   * The beacons `loader.js` would inject, as tags for a server-rendered page, carrying the
   * page's CSP nonce. Takes a Koa context after `middleware()` (a link report still pending for
   * its session is made first, as `loader.js` does) or a session from `readSession`.
   */
  beaconTags(from: { state: unknown } | TesseraState | null, nonce: string | null): Promise<string>;
  /**
   * The receiver routes for any node server: answers and resolves true for a receiver path,
   * resolves false (touching nothing) for any other path, so the caller continues.
   */
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** The visitor's shared session from a plain node request (outside Koa); null when none. */
  readSession(req: IncomingMessage): Promise<TesseraState | null>;
  /**
   * Verifies a handoff token for this site completely, spending its jti, for frameworks that
   * set their own session, and tells the hub this site now holds the session (with the token as
   * proof, retried briefly when the hub cannot be reached). Rejects with a {@link TesseraError}
   * (`ERR_HANDOFF_*`).
   */
  verifyHandoff(token: string, page?: EmbeddingPage): Promise<TesseraState>;
  /** Ends every local session holding hub session `sid` (e.g. on back-channel logout); returns how many. */
  destroySessions(sid: string): Promise<number>;
  /** Stops timers and the agent built from `ca`. A Redis client passed in stays open: it is yours. */
  close(): Promise<void>;
}

/**
 * Creates the destination for one site. Options are validated at once (`ERR_CONFIG_INVALID`
 * naming every problem).
 *
 * @example
 * const tessera = createDestination({
 *   hubUrl: 'https://login.example.com',
 *   siteOrigin: 'https://www.example.org',
 *   sites: ['https://shop.example.net'],
 *   credential: process.env.TESSERA_SITE_CREDENTIAL,
 * });
 * app.use(tessera.middleware());
 * app.use(tessera.requireSession());
 * app.use((ctx) => { ctx.body = ctx.state.tessera?.claims.email ?? 'anonymous'; });
 */
export function createDestination(input: DestinationOptions): Destination {
  const options = resolveOptions(input);
  const logger: DestinationLogger = options.logger ?? createLogger({ level: 'info' }).child({ component: 'tessera/destination' });
  const { clock } = options;

  let replay: DestinationDeps['replay'];
  let sessions: SiteSessionStore;
  let ended: EndedSessions;
  let purgeTimer: NodeJS.Timeout | null = null;
  if (options.store === 'memory') {
    const memoryReplay = new MemoryReplayStore({ clock });
    const memorySessions = new MemorySiteSessionStore(clock);
    const memoryEnded = new MemoryEndedSessions(clock);
    purgeTimer = setInterval(() => {
      void memoryReplay.purgeExpired();
      memorySessions.purgeExpired();
      memoryEnded.purgeExpired();
    }, PURGE_INTERVAL_MS);
    purgeTimer.unref();
    replay = memoryReplay;
    sessions = memorySessions;
    ended = memoryEnded;
    logger.info({ store: 'memory' }, 'sessions and spent jtis are kept in this process: use Redis when the site runs more than one');
  } else {
    replay = new RedisReplayStore(options.store.redis, { clock, prefix: options.store.prefix });
    sessions = new RedisSiteSessionStore(options.store.redis, { prefix: options.store.prefix });
    ended = new RedisEndedSessions(options.store.redis, options.store.prefix);
  }
  if (options.credential === null) logger.info({}, 'no credential: loader.js stays empty and the hub is not told which sessions this site holds');

  const hub = new HubClient({ hubUrl: options.hubUrl, credential: options.credential, agent: options.agent, timeoutMs: options.hubTimeoutMs, logger });
  const beacons = new BeaconSource(hub, clock, logger);
  const links = new LinkReporter(hub, logger, {
    requestTimeoutMs: options.linkReportTimeoutMs,
    // A background retry settled a report. The sessions keeping its proof are not rewritten from
    // here (a write outside their requests could undo a concurrent request's own change): the
    // next request that needs the link reports the proof again (the hub answers a repeat the
    // same) and drops it then. A session the hub answered has ended is ended as a back-channel
    // logout ends it (through the sid index); if that fails, the kept proof's next report in a
    // request ends it.
    onSettled(sid, outcome) {
      if (outcome === 'recorded') beacons.forget(sid);
      if (outcome === 'ended') {
        endLocally(deps, sid).catch((err: unknown) => {
          logger.error({ code: (err as { code?: unknown }).code, sid, err: (err as Error).message }, 'could not end the local sessions of a session the hub has ended');
        });
      }
    },
  });
  const deps: DestinationDeps = {
    options,
    logger,
    verification: verificationFor(options, logger),
    replay,
    sessions,
    ended,
    hub,
    links,
    beacons,
    emit: createEventSink({ onSessionReplaced: options.onSessionReplaced, webhookUrl: options.webhookUrl, agent: options.agent, timeoutMs: options.hubTimeoutMs, logger }),
  };

  const session = sessionMiddleware(options, sessions);
  const routes = receiverRoutes(deps);
  const withSession: Koa.Middleware = (ctx, next) =>
    session(ctx, () => {
      ctx.state.tessera = tesseraFromSession(sessionOf(ctx));
      return routes(ctx, next);
    });
  // One instance for every call: koa-session is bound to an app once (session.ts).
  const middleware: Koa.Middleware = async (ctx, next) => {
    const request = servedRequest(ctx.path, options.prefix);
    if (request === null) return withSession(ctx, next);
    try {
      await withSession(ctx, next);
    } catch (err) {
      // The routes answer their own failures; this is koa-session's store failing while loading
      // or saving the session around them. Answered the same way here: Koa's own error answer
      // would drop the receiver's headers, and handler()'s app would log nothing.
      const { code, status } = logRejection(logger, request.route, err);
      ctx.set(RECEIVER_HEADERS);
      ctx.remove('Location');
      ctx.status = status;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `The shared session is unavailable (${code}).\n`;
    }
  };

  let handlerApp: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | null = null;

  return {
    middleware: () => middleware,
    requireSession: (settings) => requireSessionMiddleware(options, settings),
    requireActiveSession: () => requireActiveSessionMiddleware(deps),
    async beaconTags(from, nonce) {
      if (from === null || isTesseraState(from)) return from === null ? '' : renderBeaconTags(await deps.beacons.beaconsFor(from.sid), nonce);
      const tessera = (from.state as { tessera?: TesseraState | null }).tessera ?? null;
      if (tessera === null) return '';
      // As loader.js: a link report still pending is made first, or the hub mints nothing.
      if ((await reportKeptProof(deps, from as Koa.Context, tessera.sid)) === 'ended') return '';
      return renderBeaconTags(await deps.beacons.beaconsFor(tessera.sid), nonce);
    },
    async handler(req, res) {
      // The raw path, as Koa's ctx.path sees it, so both agree on what is a receiver path. A
      // request target that is not a path (`*`, a proxy's absolute URL) is never a receiver's.
      const url = req.url ?? '';
      if (!url.startsWith('/') || servedRequest(url.replace(/[?#].*$/s, ''), options.prefix) === null) return false;
      handlerApp ??= receiverApp(options, middleware);
      await handlerApp(req, res);
      return true;
    },
    readSession: (req) => readSessionFromRequest(req, options.cookie.name, sessions),
    async verifyHandoff(token, page = {}) {
      const { claims, identity } = await verifyForSite(deps, token, page);
      if ((await links.report(claims.sid, token)) === 'ended') {
        await endLocally(deps, claims.sid);
        throw sessionEndedAtHub();
      }
      return { sid: claims.sid, sub: claims.sub ?? null, claims: identity, src: claims.src };
    },
    destroySessions: (sid) => sessions.destroyBySid(sid),
    async close() {
      if (purgeTimer !== null) clearInterval(purgeTimer);
      links.close();
      // An agent built from `ca` is ours; one passed as `agent` belongs to the caller.
      if (input.agent === undefined) options.agent?.destroy();
    },
  };
}

function isTesseraState(value: object): value is TesseraState {
  return typeof (value as { sid?: unknown }).sid === 'string';
}

/** The core verifier's options for this site, without rememberJti (the jti is spent after the Referer check). */
function verificationFor(options: ResolvedOptions, logger: DestinationLogger): HandoffVerifyOptions {
  return {
    keys: jwksKeyLookup({ jwksUri: `${options.hubUrl}/.well-known/jwks.json`, algorithms: options.algorithms, agent: options.agent, timeoutMs: options.hubTimeoutMs, logger }),
    algorithms: options.algorithms,
    issuer: options.hubUrl,
    audience: options.siteOrigin,
    destinationHost: options.siteHost,
    isKnownSource: (host) => host === options.hubHost || options.siteHosts.has(host),
    clock: options.clock,
    clockToleranceSeconds: options.clockToleranceSeconds,
    maxTokenBytes: options.maxTokenBytes,
  };
}

/** A Koa app of its own behind `handler()`: the same middleware, for servers that are not Koa. */
function receiverApp(options: ResolvedOptions, middleware: Koa.Middleware): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const app = new Koa({ proxy: options.trustProxy });
  app.use(middleware);
  // Errors are answered and logged by the routes; Koa's default handler would print them again.
  app.silent = true;
  return app.callback();
}
