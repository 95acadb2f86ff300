/**
 * The options of `createDestination`, checked up front: a mistake fails at start-up with one
 * `ERR_CONFIG_INVALID` naming every bad option, never later on a visitor's request. Defaults
 * are written next to their checks.
 */
import { Agent } from 'node:https';
import { z } from 'zod';
import { systemClock, type Clock } from '../core/clock';
import { TesseraError } from '../core/errors';
import { DEFAULT_RECEIVER_PREFIX, type SessionReplacedEvent } from '../core/receiver/receiver';
import { HANDOFF_DEFAULT_CLOCK_TOLERANCE_SECONDS, HANDOFF_DEFAULT_MAX_TOKEN_BYTES } from '../core/tokens/handoff';
import { SUPPORTED_ALGORITHMS } from '../core/tokens/compact-jws';
import type { SigningAlgorithm } from '../ports';
import type { RedisClient } from '../stores/redis/client';

/** Where log lines go: pino fits, and so does anything with these four methods. */
export interface DestinationLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Where the SDK keeps spent jtis and the site's sessions. */
export type DestinationStore = 'memory' | { redis: RedisClient; prefix?: string };

/** The site's session cookie. It is always `HttpOnly` and `Secure`. */
export interface SessionCookieOptions {
  /** Default `tessera_site`. */
  name?: string;
  /** Default `none`: beacons set the cookie in a cross-site sub-request, which only `None` allows. */
  sameSite?: 'none' | 'lax' | 'strict';
  /** Default `/`. */
  path?: string;
  /** Default unset: a host-only cookie. */
  domain?: string | null;
  /** Default unset: a browser-session cookie, gone when the browser closes. */
  maxAgeSeconds?: number | null;
}

/** What `createDestination` takes. Only `hubUrl` and `siteOrigin` are required. */
export interface DestinationOptions {
  /** The hub's origin (`https://login.example.com`): the tokens' issuer, where its JWKS and API live. */
  hubUrl: string;
  /** This site's origin (`https://www.example.org`): the tokens' audience; its host is `dst`. */
  siteOrigin: string;
  /** Origins of the other configured sites: beacons embedded on their pages may carry tokens here. Default []. */
  sites?: readonly string[];
  /** This site's credential for the hub's site API (loader.js beacons, link reports). Default none. */
  credential?: string;
  /** Accepted token algorithms, from RS256 / ES256. Default ['RS256']. */
  algorithms?: readonly SigningAlgorithm[];
  /** Where the receiver answers. Default `/shared-session/`. */
  prefix?: string;
  /** Allowed clock skew for exp / iat, 0 to 60. Default 5. */
  clockToleranceSeconds?: number;
  /** Longer tokens are refused before any parsing. Default 4096. */
  maxTokenBytes?: number;
  /** Require a `Referer` or `Origin` naming the token's source on every beacon (the bounce's `accept` is bound by its state cookie instead). Default false. */
  strictReferer?: boolean;
  /** Replace a live session of another sid too (the same sid is always kept). Default false. */
  alwaysReplace?: boolean;
  /** Default 'memory' (one process only; use Redis when the site runs several). */
  store?: DestinationStore;
  cookie?: SessionCookieOptions;
  /** Longest a site session lives in the store, whatever the cookie says. Default 43200 (12 h). */
  sessionLifetimeSeconds?: number;
  /** After the hub answers `login_required`, do not bounce this browser again for this long. Default 300. */
  noBounceSeconds?: number;
  /** `requireActiveSession()`: how long the hub's answer for one sid is reused, 0 to 60 (0: ask every time). Default 5. */
  statusCheck?: { cacheSeconds?: number };
  /** Called whenever a token set this site's session (the `session_replaced` event). */
  onSessionReplaced?: (event: SessionReplacedEvent) => void | Promise<void>;
  /** Each `session_replaced` event is also POSTed here as JSON (fire and forget). Default none. */
  webhookUrl?: string;
  /** CA certificate(s) to trust for the hub and the webhook instead of the system roots, e.g. a development self-signed one. */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** An agent of your own for the calls to the hub and the webhook (instead of `ca`). */
  agent?: Agent;
  /** How long a call to the hub (JWKS, API) or the webhook may take. Default 3000 ms. */
  hubTimeoutMs?: number;
  /**
   * How long the beacon or `accept` answer waits for its link report to the hub, 50 to 30000;
   * a report not answered by then is kept and retried. Default 500 ms.
   */
  linkReportTimeoutMs?: number;
  /** For `handler()` only: trust `X-Forwarded-Proto` from a TLS-terminating proxy. Default false. */
  trustProxy?: boolean;
  /** Default: pino at level info. */
  logger?: DestinationLogger;
  /** Default: the system clock. Tests freeze it. */
  clock?: Clock;
}

/** The options after validation, every default applied. */
export interface ResolvedOptions {
  hubUrl: string;
  hubHost: string;
  siteOrigin: string;
  siteHost: string;
  siteHosts: ReadonlySet<string>;
  credential: string | null;
  algorithms: readonly SigningAlgorithm[];
  prefix: string;
  clockToleranceSeconds: number;
  maxTokenBytes: number;
  strictReferer: boolean;
  alwaysReplace: boolean;
  store: 'memory' | { redis: RedisClient; prefix: string };
  cookie: Required<SessionCookieOptions>;
  sessionLifetimeSeconds: number;
  noBounceSeconds: number;
  statusCheck: { cacheSeconds: number };
  onSessionReplaced: ((event: SessionReplacedEvent) => void | Promise<void>) | null;
  webhookUrl: string | null;
  agent: Agent | null;
  hubTimeoutMs: number;
  linkReportTimeoutMs: number;
  trustProxy: boolean;
  logger: DestinationLogger | null;
  clock: Clock;
}

/** RFC 6265 §4.1.1: a cookie name is an HTTP token. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 6265 §4.1.1 path-value, restricted to an absolute path. */
const COOKIE_PATH = /^\/[\x21-\x3a\x3c-\x7e]*$/;
/** The hub's rule for a site's receiver path: plain segments, never `/` alone (it would shadow every page). */
const RECEIVER_PATH = /^\/(?:[A-Za-z0-9_~-][A-Za-z0-9._~-]*\/)+$/;

function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

/** An https origin, compared exactly: what the hub puts in `iss` and `aud`. */
function httpsOrigin(example: string) {
  return z.string().refine((value) => {
    const url = parseUrl(value);
    return url !== null && url.protocol === 'https:' && url.origin === value;
  }, `must be an https origin such as ${example} (no path, no trailing slash)`);
}

const webUrl = z.string().refine((value) => {
  const url = parseUrl(value);
  return url !== null && (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '';
}, 'must be an http(s) URL without credentials');

const hostName = z.string().refine((value) => parseUrl(`https://${value}`)?.hostname === value, 'must be a lower-case host name');

const isFunction = (value: unknown): boolean => typeof value === 'function';

const schema = z
  .strictObject({
    hubUrl: httpsOrigin('https://login.example.com'),
    siteOrigin: httpsOrigin('https://www.example.org'),
    sites: z.array(httpsOrigin('https://shop.example.net')).default([]),
    credential: z.string().min(16, 'must be the credential the hub issued (at least 16 characters)').optional(),
    algorithms: z
      .array(z.enum(SUPPORTED_ALGORITHMS as [SigningAlgorithm, ...SigningAlgorithm[]]))
      .min(1, 'must name at least one algorithm')
      .default(['RS256']),
    prefix: z.string().regex(RECEIVER_PATH, 'must start and end with "/", with plain path segments between (e.g. /shared-session/)').default(DEFAULT_RECEIVER_PREFIX),
    clockToleranceSeconds: z.number().int().min(0).max(60).default(HANDOFF_DEFAULT_CLOCK_TOLERANCE_SECONDS),
    maxTokenBytes: z.number().int().min(256).max(65536).default(HANDOFF_DEFAULT_MAX_TOKEN_BYTES),
    strictReferer: z.boolean().default(false),
    alwaysReplace: z.boolean().default(false),
    store: z
      .union([
        z.literal('memory'),
        z.strictObject({
          redis: z.custom<RedisClient>((value) => typeof value === 'object' && value !== null && isFunction((value as { set?: unknown }).set)),
          prefix: z.string().regex(/^[^\s{}]*$/, 'must contain no spaces or braces').default('tessera-site:'),
        }),
      ], { error: 'must be "memory" or { redis: <an ioredis client>, prefix?: <key prefix without spaces or braces> }' })
      .default('memory'),
    cookie: z
      .strictObject({
        name: z.string().regex(COOKIE_NAME, 'must be a cookie name (RFC 6265 token characters)').default('tessera_site'),
        sameSite: z.enum(['none', 'lax', 'strict']).default('none'),
        path: z.string().regex(COOKIE_PATH, 'must start with / and contain no spaces or semicolons').default('/'),
        domain: hostName.nullable().default(null),
        maxAgeSeconds: z.number().int().min(1).nullable().default(null),
      })
      .prefault({}),
    sessionLifetimeSeconds: z.number().int().min(60).max(31_536_000).default(43_200),
    noBounceSeconds: z.number().int().min(1).max(86_400).default(300),
    statusCheck: z.strictObject({ cacheSeconds: z.number().int().min(0).max(60).default(5) }).prefault({}),
    onSessionReplaced: z.custom<ResolvedOptions['onSessionReplaced'] & object>(isFunction, 'must be a function').optional(),
    webhookUrl: webUrl.optional(),
    ca: z.union([z.string(), z.instanceof(Buffer), z.array(z.union([z.string(), z.instanceof(Buffer)]))]).optional(),
    agent: z.instanceof(Agent, { message: 'must be an https.Agent' }).optional(),
    hubTimeoutMs: z.number().int().min(100).max(30_000).default(3000),
    linkReportTimeoutMs: z.number().int().min(50).max(30_000).default(500),
    trustProxy: z.boolean().default(false),
    logger: z
      .custom<DestinationLogger>(
        (value) => typeof value === 'object' && value !== null && ['debug', 'info', 'warn', 'error'].every((m) => isFunction((value as Record<string, unknown>)[m])),
        'must have debug, info, warn and error methods',
      )
      .optional(),
    clock: z.custom<Clock>((value) => typeof value === 'object' && value !== null && isFunction((value as { now?: unknown }).now), 'must have a now() method').optional(),
  })
  .superRefine((options, ctx) => {
    const { cookie } = options;
    if (options.ca !== undefined && options.agent !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['agent'], message: 'give either "ca" or "agent", not both (set ca on your agent)' });
    }
    if (/^__Host-/i.test(cookie.name) && (cookie.path !== '/' || cookie.domain !== null)) {
      ctx.addIssue({ code: 'custom', path: ['cookie', 'name'], message: 'a __Host- cookie needs path "/" and no domain' });
    }
    const siteHost = parseUrl(options.siteOrigin)?.hostname;
    if (cookie.domain !== null && siteHost !== undefined && siteHost !== cookie.domain && !siteHost.endsWith(`.${cookie.domain}`)) {
      ctx.addIssue({ code: 'custom', path: ['cookie', 'domain'], message: `must be ${siteHost} or a parent domain of it` });
    }
    if (cookie.maxAgeSeconds !== null && cookie.maxAgeSeconds > options.sessionLifetimeSeconds) {
      ctx.addIssue({ code: 'custom', path: ['cookie', 'maxAgeSeconds'], message: 'must not exceed "sessionLifetimeSeconds": the store would forget the session first' });
    }
    if (options.sites.includes(options.hubUrl)) {
      ctx.addIssue({ code: 'custom', path: ['sites'], message: 'lists the hub; the hub is always a known source' });
    }
  });

/**
 * Validates `input` and applies the defaults. Throws `ERR_CONFIG_INVALID` listing every problem,
 * each as `"path" message`.
 *
 * @example
 * resolveOptions({ hubUrl: 'https://login.example.com', siteOrigin: 'https://www.example.org' });
 */
export function resolveOptions(input: DestinationOptions): ResolvedOptions {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `"${issue.path.join('.') || 'options'}" ${issue.message}`);
    throw new TesseraError('ERR_CONFIG_INVALID', `tessera/destination: ${problems.join('; ')}`);
  }
  const options = parsed.data;
  const ca = options.ca === undefined ? undefined : Array.isArray(options.ca) ? options.ca : [options.ca];
  return {
    hubUrl: options.hubUrl,
    hubHost: new URL(options.hubUrl).host,
    siteOrigin: options.siteOrigin,
    siteHost: new URL(options.siteOrigin).host,
    siteHosts: new Set(options.sites.map((origin) => new URL(origin).host)),
    credential: options.credential ?? null,
    algorithms: options.algorithms,
    prefix: options.prefix,
    clockToleranceSeconds: options.clockToleranceSeconds,
    maxTokenBytes: options.maxTokenBytes,
    strictReferer: options.strictReferer,
    alwaysReplace: options.alwaysReplace,
    store: options.store,
    cookie: options.cookie,
    sessionLifetimeSeconds: options.sessionLifetimeSeconds,
    noBounceSeconds: options.noBounceSeconds,
    statusCheck: options.statusCheck,
    onSessionReplaced: options.onSessionReplaced ?? null,
    webhookUrl: options.webhookUrl ?? null,
    // One keep-alive agent for every call to the hub: the JWKS client and the site API share it.
    agent: options.agent ?? (ca === undefined ? null : new Agent({ ca: ca as (string | Buffer)[], keepAlive: true })),
    hubTimeoutMs: options.hubTimeoutMs,
    linkReportTimeoutMs: options.linkReportTimeoutMs,
    trustProxy: options.trustProxy,
    logger: options.logger ?? null,
    clock: options.clock ?? systemClock,
  };
}
