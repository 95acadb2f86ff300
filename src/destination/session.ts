/**
 * The site's own session: koa-session with an external store (session-store.ts), carrying
 *
 *   { tessera: { sid, sub, claims, src, receivedAt, linkProof?, linkProofExp? }, ...the app's own data }
 *
 * Cookie: `<name>=<key>; HttpOnly; Secure; SameSite=None; Path=/` by default, a browser-session
 * cookie unless `maxAgeSeconds` is set. `SameSite=None` because beacons set it in a cross-site
 * sub-request; `Secure` always (SECURITY.md: never a session cookie without it).
 *
 * The key is 256 random bits from `crypto.randomBytes` (koa-session's default, a UUID, has 122),
 * and the cookie is not signed: it carries nothing but that key, which an attacker can neither
 * guess nor derive, and an unknown key is never adopted (koa-session starts a fresh session
 * under a fresh key). A signature would add a second `.sig` cookie and make every site manage
 * `app.keys` for no extra protection.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type Koa from 'koa';
import createSession, { type CreateSessionOptions } from 'koa-session';
import { TesseraError } from '../core/errors';
import type { ResolvedOptions } from './options';
import type { SiteSessionStore } from './session-store';

/** Who the visitor is on this site, from the shared session: `ctx.state.tessera`. */
export interface TesseraState {
  /** The hub session's public handle. */
  sid: string;
  /** The user id; null for an anonymous session that holds data. */
  sub: string | null;
  /** The identity claims the hub allows this site (e.g. email, name, roles). */
  claims: Record<string, unknown>;
  /** Host that embedded the beacon, or the hub's host for a bounce. */
  src: string;
}

/** What the session stores under `tessera`. */
export interface StoredTessera extends TesseraState {
  /** Unix seconds. */
  receivedAt: number;
  /**
   * The handoff token that set the session, while the hub has not answered its link report
   * (kept-proof.ts): reported again before the link is relied on, then dropped. Never in
   * `ctx.state.tessera`.
   */
  linkProof?: string;
  /** The `exp` of `linkProof` (Unix seconds): past the hub's grace it is dropped unreported. */
  linkProofExp?: number;
}

/** The parts of a koa-session session object the SDK uses. */
export interface KoaSession {
  isNew: boolean;
  toJSON(): Record<string, unknown>;
  regenerate(): Promise<void>;
  [member: string]: unknown;
}

const SESSION_KEY = /^[A-Za-z0-9_-]{43}$/;

/** A new session key: 256 bits from the CSPRNG, base64url. */
export function newSessionKey(): string {
  return randomBytes(32).toString('base64url');
}

/** The visitor's `tessera` member, when it has the stored shape; otherwise null. */
export function tesseraFromSession(session: unknown): TesseraState | null {
  const tessera = (session as { tessera?: unknown } | null | undefined)?.tessera;
  if (typeof tessera !== 'object' || tessera === null) return null;
  const { sid, sub, claims, src } = tessera as Record<string, unknown>;
  if (typeof sid !== 'string' || typeof src !== 'string') return null;
  if (sub !== null && typeof sub !== 'string') return null;
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return null;
  return { sid, sub, claims: claims as Record<string, unknown>, src };
}

/** `ctx.session` as koa-session provides it (null when the app set it to null). */
export function sessionOf(ctx: Koa.Context): KoaSession | null {
  return (ctx as unknown as { session: KoaSession | null }).session;
}

/**
 * koa-session for whichever app mounts the middleware. koa-session needs the app to extend its
 * context, and `middleware()` is created before it sees one, so the session middleware is
 * built on the first request of each app.
 */
export function sessionMiddleware(options: ResolvedOptions, store: SiteSessionStore): Koa.Middleware {
  const perApp = new WeakMap<Koa, Koa.Middleware>();
  return (ctx, next) => {
    let session = perApp.get(ctx.app);
    if (session === undefined) {
      // koa-session binds ctx.session to the options of whichever instance extended the app
      // first, so a second one would silently read and write through ours.
      if (Object.hasOwn(ctx.app.context, 'sessionOptions')) {
        throw new TesseraError('ERR_CONFIG_INVALID', 'koa-session (or another destination) is already mounted on this app; tessera/destination provides ctx.session itself');
      }
      session = createSession(koaSessionOptions(options, store), ctx.app) as Koa.Middleware;
      perApp.set(ctx.app, session);
    }
    return session(ctx, next);
  };
}

function koaSessionOptions(options: ResolvedOptions, store: SiteSessionStore): CreateSessionOptions {
  const { cookie } = options;
  const lifetimeMs = options.sessionLifetimeSeconds * 1000;
  // path and domain are not in koa-session's option type, but it hands every option to cookies.set.
  const sessionOptions: CreateSessionOptions & { path: string; domain?: string } = {
    key: cookie.name,
    maxAge: cookie.maxAgeSeconds === null ? 'session' : cookie.maxAgeSeconds * 1000,
    httpOnly: true,
    secure: true,
    sameSite: cookie.sameSite,
    path: cookie.path,
    ...(cookie.domain === null ? {} : { domain: cookie.domain }),
    signed: false,
    overwrite: true,
    rolling: false,
    renew: false,
    autoCommit: true,
    genid: newSessionKey,
    store: {
      get: async (key) => (SESSION_KEY.test(key) ? store.get(key) : null),
      // koa-session passes 'session' for a browser-session cookie: the store still forgets it
      // after the lifetime, so expiry never depends on the browser closing.
      set: (key, data: Record<string, unknown>, maxAge: number | 'session') => store.set(key, data, typeof maxAge === 'number' ? maxAge : lifetimeMs),
      destroy: (key) => store.destroy(key),
    },
  };
  return sessionOptions;
}

/**
 * The visitor's session read from a plain node request (for `readSession()` outside Koa): the
 * cookie's key, looked up in the store, expiry checked as koa-session does.
 */
export async function readSessionFromRequest(req: IncomingMessage, cookieName: string, store: SiteSessionStore): Promise<TesseraState | null> {
  const key = cookieValue(req.headers.cookie, cookieName);
  if (key === null || !SESSION_KEY.test(key)) return null;
  const data = await store.get(key);
  if (data === null) return null;
  if (typeof data._expire === 'number' && data._expire < Date.now()) return null;
  return tesseraFromSession(data);
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return null;
}
