/**
 * The one configuration schema of Tessera. Every option is declared here once, with its
 * default, its description and its environment variable side by side; the loader
 * (`load.ts`) maps environment variables through {@link configOptions} and the README's table
 * (`docs.ts`) is rendered from the same list, so code and documentation cannot drift
 * (DESIGN.md: "Every setting has an environment variable and a config-file key").
 *
 * Config-file keys are the camelCase paths of {@link Config} (`tokens.ttlSeconds`). Per-site
 * options have no variables of their own: sites come as a JSON array in `TESSERA_SITES` or as
 * `sites:` in the config file.
 */
import { z } from 'zod';
import { PROJECTION_FIELDS } from '../core/projection/fields';
import { parseEmailAddress } from '../core/users/email-address';

/**
 * Hard cap on a handoff token's lifetime (`exp - iat`): verifiers reject anything longer, so
 * the configured TTL may not exceed it (DESIGN.md "The handoff token").
 */
export const MAX_TOKEN_TTL_SECONDS = 120;

/** The environment variable that names an optional YAML or JSON config file. */
export const CONFIG_FILE_ENV = 'TESSERA_CONFIG';

/** What the documentation and the environment loader know about one option. */
export interface OptionMeta {
  /** Environment variable that sets the option; absent for per-site keys. */
  env?: string;
  /** One or two sentences for the README. */
  description: string;
  /** How the README shows a default that is computed or means something special. */
  defaultText?: string;
}

/** Every option's metadata, keyed by the option's schema. */
export const optionRegistry = z.registry<OptionMeta>();

function option<T extends z.ZodType>(schema: T, meta: OptionMeta): T {
  optionRegistry.add(schema, meta);
  return schema;
}

// --- origins and URLs ---------------------------------------------------------------------

const ORIGIN_PROBLEM = 'must be an https origin without path';

/**
 * Normalises `https://Host:443/` to `https://host` and refuses anything that is not a bare
 * origin: the hub compares origins as exact strings after WHATWG URL parsing (SECURITY.md,
 * redirect targets), which only works if the configured values are canonical.
 */
const originString = z.string().transform((value, ctx) => {
  const url = parseUrl(value);
  if (!url || !isHttpScheme(url) || url.username || url.password || url.pathname !== '/' || url.search || url.hash) {
    ctx.addIssue({ code: 'custom', message: ORIGIN_PROBLEM });
    return z.NEVER;
  }
  return url.origin;
});

/** An absolute http(s) URL without credentials or fragment (OpenID Connect Back-Channel Logout 1.0, §2.2). */
const endpointUrl = z.string().transform((value, ctx) => {
  const url = parseUrl(value);
  if (!url || !isHttpScheme(url) || url.username || url.password || url.hash) {
    ctx.addIssue({ code: 'custom', message: 'must be an https URL without fragment' });
    return z.NEVER;
  }
  return url.href;
});

function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

function isHttpScheme(url: URL): boolean {
  return url.protocol === 'https:' || url.protocol === 'http:';
}

/**
 * Hosts a browser treats as a secure context over plain http (RFC 6761 reserves `.localhost`),
 * so local development works without certificates.
 */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '127.0.0.1' || hostname === '[::1]';
}

// --- store URLs ----------------------------------------------------------------------------

const STORE_URL = /^(?:sqlite:.+|memory:|(?:redis|rediss|redis\+sentinel|redis\+cluster):\/\/.+)$/;
const DATABASE_URL = /^postgres(?:ql)?:\/\/.+/;

/**
 * `host:port` of a listener, e.g. `127.0.0.1:9464`, `0.0.0.0:9464` or `[::1]:9464`: no scheme,
 * no path. Port 0 picks a free port.
 */
const listenAddress = z.string().transform((value, ctx) => {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value.trim());
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || port > 65535) {
    ctx.addIssue({ code: 'custom', message: 'must be host:port, e.g. 127.0.0.1:9464 or [::1]:9464' });
    return z.NEVER;
  }
  return { host: match[1] ?? match[2]!, port };
});

// --- mail ------------------------------------------------------------------------------------

/** Checked with the same rules as every recipient (SECURITY.md "Login and e-mail"). */
const emailAddress = z.string().transform((value, ctx) => {
  try {
    return parseEmailAddress(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a bare e-mail address such as login@example.com' });
    return z.NEVER;
  }
});

// --- sites ---------------------------------------------------------------------------------

/** RFC 6265 §4.1.1: a cookie name is an HTTP token. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 6265 §4.1.1 path-value, restricted to an absolute path. */
const COOKIE_PATH = /^\/[\x21-\x3a\x3c-\x7e]*$/;

const cookieDomain = z.string().transform((value, ctx) => {
  // Browsers ignore a leading dot (RFC 6265 §5.2.3), so the canonical form has none.
  const domain = value.replace(/^\./, '').toLowerCase();
  const url = parseUrl(`https://${domain}`);
  if (!domain || !url || url.hostname !== domain) {
    ctx.addIssue({ code: 'custom', message: 'must be a host name' });
    return z.NEVER;
  }
  return domain;
});

const cookieSchema = z.strictObject({
  name: option(z.string().regex(COOKIE_NAME, 'must be a cookie name (RFC 6265 token characters)').default('tessera_session'), {
    description: "Name of the session cookie the site's receiver sets.",
  }),
  sameSite: option(z.enum(['none', 'lax', 'strict']).default('none'), {
    description: 'SameSite attribute. `none` lets beacons set the cookie from a cross-site sub-request; it requires `secure`.',
  }),
  secure: option(z.boolean().default(true), {
    description: 'Secure attribute. May be false only in development.',
  }),
  httpOnly: option(z.boolean().default(true), {
    description: 'HttpOnly attribute: page scripts cannot read the session cookie.',
  }),
  path: option(z.string().regex(COOKIE_PATH, 'must start with / and contain no spaces or semicolons').default('/'), {
    description: 'Path attribute.',
  }),
  domain: option(cookieDomain.nullable().default(null), {
    description: "Domain attribute; must domain-match the site's host. Unset means a host-only cookie.",
    defaultText: 'unset (host-only)',
  }),
  maxAgeSeconds: option(z.number().int().min(1).nullable().default(null), {
    description: 'Max-Age attribute, at most the absolute session timeout. Unset means a browser-session cookie, gone when the browser closes.',
    defaultText: 'unset (browser session)',
  }),
});

/**
 * A receiver prefix such as `/shared-session/`: at least one segment, none starting with a dot
 * (so no `.`/`..` that a proxy might normalise away), each of URL-safe characters. `/` alone is
 * refused: the receiver would shadow every page of the site.
 */
const RECEIVER_PATH = /^\/(?:[A-Za-z0-9_~-][A-Za-z0-9._~-]*\/)+$/;

const IDENTITY_CLAIMS = ['email', 'name', 'roles'] as const;
const PROJECTION_KEY_PREFIX = { json: 'tessera:projection:', php_serialize: 'PHPREDIS_SESSION:', php: 'PHPREDIS_SESSION:' } as const;

/**
 * What follows `store.keyPrefix` in every key the hub writes to Redis (src/stores/redis/keys.ts,
 * and `rl:` for rate limits; docs/redis-layout.md). A test holds every `RedisKeys` method to it.
 */
export const HUB_REDIS_KEY_ROOTS = ['session:', 'sessions', 'jti:', 'user:', 'projections', 'rl:'] as const;

/** True when some key `keyPrefix + id` could be a key of the hub under `storePrefix`. */
function projectionPrefixOverlapsHub(keyPrefix: string, storePrefix: string): boolean {
  if (storePrefix.startsWith(keyPrefix)) return true;
  if (!keyPrefix.startsWith(storePrefix)) return false;
  const rest = keyPrefix.slice(storePrefix.length);
  return HUB_REDIS_KEY_ROOTS.some((root) => root.startsWith(rest) || rest.startsWith(root));
}

const projectionSchema = z
  .strictObject({
    format: option(z.enum(['json', 'php_serialize', 'php']), {
      description: "Encoding of the projection: `json`, or PHP's `php_serialize` / `php` session serialize handlers.",
    }),
    keyPrefix: option(z.string().regex(/^\S+$/, 'must be non-empty, without spaces').optional(), {
      description: 'Prefix of the projection key; the rest is the site session id.',
      defaultText: '`PHPREDIS_SESSION:` for php formats, `tessera:projection:` for json',
    }),
    fields: option(
      z
        .array(z.enum(PROJECTION_FIELDS, { error: () => `must be one of ${PROJECTION_FIELDS.join(', ')}` }))
        .min(1, 'must name at least one field')
        .refine((fields) => new Set(fields).size === fields.length, 'must not list a field twice')
        .default(['sub', 'sid']),
      {
        description: `Session variables written into the projection, named as the application reads them: ${PROJECTION_FIELDS.map((f) => `\`${f}\``).join(', ')} (docs/integrations/php.md). Identity claims (\`email\`, \`name\`, \`roles\`) must also be allowed in \`claims\`.`,
      },
    ),
    ttlSeconds: option(z.number().int().min(1).nullable().default(null), {
      description: "Lifetime of the projection key from each write or refresh, never past the session's absolute timeout. Unset means it follows the session's idle timeout. Either way it is deleted on revocation.",
      defaultText: 'unset (follows the session)',
    }),
  })
  .transform((projection) => ({ ...projection, keyPrefix: projection.keyPrefix ?? PROJECTION_KEY_PREFIX[projection.format] }));

/**
 * Runs a cross-field rule even when other fields are invalid, so one mistake never hides
 * another; the rule reads only fields {@link cleanlyParsed} vouches for.
 */
const always = { when: () => true };

/**
 * A test for "no problem was recorded at, above or below this path", the condition under which
 * the value there is parsed and safe to read. It looks at the problems found before the rule
 * ran, not at the ones the rule adds itself.
 */
function cleanlyParsed(ctx: { issues: readonly { path?: readonly PropertyKey[] | undefined }[] }): (...path: PropertyKey[]) => boolean {
  const found = ctx.issues.map((issue) => issue.path ?? []);
  return (...path) => found.every((issuePath) => issuePath.slice(0, Math.min(issuePath.length, path.length)).some((segment, i) => segment !== path[i]));
}

const siteSchema = z
  .strictObject({
    origin: option(originString, {
      description: 'The site\'s origin, e.g. `https://www.example.org` (http only for localhost hosts in development). Compared exactly.',
    }),
    name: option(z.string().min(1).max(100).optional(), {
      description: 'Display name in the admin UI.',
      defaultText: "the origin's host",
    }),
    cookie: cookieSchema.prefault({}),
    claims: option(z.array(z.enum(IDENTITY_CLAIMS)).default([]), {
      description: 'Identity claims the hub may put in tokens for this site (`email`, `name`, `roles`).',
    }),
    backchannelLogoutUri: option(endpointUrl.nullable().default(null), {
      description: 'Where the hub POSTs logout tokens (https; http only for localhost in development). Unset means no back-channel logout.',
      defaultText: 'unset',
    }),
    projection: option(projectionSchema.nullable().default(null), {
      description: 'When the hub is the receiver: write the session into the shared store under the site\'s own session key.',
      defaultText: 'unset (no projection)',
    }),
    receiverPath: option(z.string().regex(RECEIVER_PATH, 'must start and end with "/", with plain path segments between').default('/shared-session/'), {
      description: "Where the site's receiver answers (beacons, `accept`, `start`, `loader.js`, `session.json`). For a site whose receiver is the hub, the reverse proxy routes this prefix to the hub with `Host` kept.",
    }),
    beacon: option(z.enum(['script', 'image']).default('script'), {
      description: 'How beacons reach the site: a `<script>` (`.js`) or a 1×1 `<img>` (`.gif`).',
    }),
    credentialHash: option(z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be a SHA-256 hex digest (64 hex characters)').transform((hex) => hex.toLowerCase()).nullable().default(null), {
      description: "SHA-256 (hex) of the site's API credential for site-to-hub calls. Unset means the site cannot call the hub's API.",
      defaultText: 'unset',
    }),
  })
  .superRefine((site, ctx) => {
    const ok = cleanlyParsed(ctx);
    if (ok('cookie')) {
      const { cookie } = site;
      if (cookie.sameSite === 'none' && !cookie.secure) {
        ctx.addIssue({ code: 'custom', path: ['cookie', 'secure'], message: 'must be true when sameSite is "none", or browsers drop the cookie' });
      }
      // Cookie prefixes, RFC 6265bis §4.1.3: browsers refuse prefixed cookies that break them.
      if (/^__(?:Host|Secure)-/i.test(cookie.name) && !cookie.secure) {
        ctx.addIssue({ code: 'custom', path: ['cookie', 'secure'], message: `must be true for a cookie named "${cookie.name}"` });
      }
      if (/^__Host-/i.test(cookie.name) && (cookie.path !== '/' || cookie.domain !== null)) {
        ctx.addIssue({ code: 'custom', path: ['cookie', 'name'], message: 'a __Host- cookie needs path "/" and no domain' });
      }
      if (cookie.domain !== null && ok('origin')) {
        const host = new URL(site.origin).hostname;
        if (host !== cookie.domain && !host.endsWith(`.${cookie.domain}`)) {
          ctx.addIssue({ code: 'custom', path: ['cookie', 'domain'], message: `must be ${host} or a parent domain of it` });
        }
      }
    }
    if (ok('claims') && new Set(site.claims).size !== site.claims.length) {
      ctx.addIssue({ code: 'custom', path: ['claims'], message: 'must not list a claim twice' });
    }
    if (ok('claims') && ok('projection') && site.projection) {
      // A projection hands identity to the site as surely as a token does, so it obeys the same allow-list.
      const claims: readonly string[] = site.claims;
      for (const field of site.projection.fields) {
        if ((IDENTITY_CLAIMS as readonly string[]).includes(field) && !claims.includes(field)) {
          ctx.addIssue({ code: 'custom', path: ['projection', 'fields'], message: `"${field}" is an identity claim not allowed in claims` });
        }
      }
    }
  }, always)
  .transform((site) => ({ ...site, name: site.name ?? new URL(site.origin).host }));

// --- the whole configuration -----------------------------------------------------------------

/**
 * The configuration schema: parse raw input (file keys, environment values already converted)
 * into a {@link Config}. Use `loadConfig` rather than this directly: it reads the environment
 * and the file, lists every problem and freezes the result.
 */
export const configSchema = z
  .strictObject({
    env: option(z.enum(['development', 'production']).default('development'), {
      env: 'TESSERA_ENV',
      description: 'Run mode. `production` refuses plain-http URLs and insecure cookies.',
    }),
    publicUrl: option(originString.default('http://localhost:8080'), {
      env: 'TESSERA_PUBLIC_URL',
      description: "The hub's public origin (no path): the token issuer and the base of every link it builds. Must be https in production.",
    }),
    listen: z
      .strictObject({
        host: option(z.string().min(1).default('127.0.0.1'), {
          env: 'TESSERA_HOST',
          description: 'Interface the HTTP server binds to.',
        }),
        port: option(z.number().int().min(0).max(65535).default(8080), {
          env: 'TESSERA_PORT',
          description: 'TCP port the HTTP server listens on (0 picks a free port).',
        }),
      })
      .prefault({}),
    trustProxy: option(z.boolean().default(false), {
      env: 'TESSERA_TRUST_PROXY',
      description: 'Trust `X-Forwarded-*` headers from exactly one reverse proxy in front of the hub: the client address is the last `X-Forwarded-For` entry, the one that proxy appended.',
    }),
    store: z
      .strictObject({
        url: option(z.string().regex(STORE_URL, 'must be sqlite:<path>, memory:, or a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL').default('sqlite:data/tessera.db'), {
          env: 'TESSERA_STORE',
          description: 'Where sessions, site links, replay records and rate limits live: `sqlite:<path>`, `redis://…` (also `rediss://`, `redis+sentinel://`, `redis+cluster://`) or `memory:` (development only).',
        }),
        keyPrefix: option(z.string().regex(/^\S{0,64}$/, 'must be at most 64 characters without spaces').default('tessera:'), {
          env: 'TESSERA_STORE_PREFIX',
          description: 'Prefix of every Redis key the hub writes.',
        }),
      })
      .prefault({}),
    database: z
      .strictObject({
        url: option(z.string().regex(DATABASE_URL, 'must be a postgres:// URL').nullable().default(null), {
          env: 'TESSERA_DATABASE',
          description: 'PostgreSQL URL for users, audit log, logout outbox and admin tokens when several hubs run. Unset means the SQLite file.',
          defaultText: 'unset (SQLite)',
        }),
      })
      .prefault({}),
    tokens: z
      .strictObject({
        algorithm: option(z.enum(['RS256', 'ES256']).default('RS256'), {
          env: 'TESSERA_TOKEN_ALGORITHM',
          description: 'Signing algorithm of handoff and logout tokens.',
        }),
        ttlSeconds: option(z.number().int().min(1).max(MAX_TOKEN_TTL_SECONDS).default(30), {
          env: 'TESSERA_TOKEN_TTL',
          description: `Lifetime of a handoff token in seconds (hard cap ${MAX_TOKEN_TTL_SECONDS}).`,
        }),
        clockToleranceSeconds: option(z.number().int().min(0).max(30).default(5), {
          env: 'TESSERA_CLOCK_TOLERANCE',
          description: 'Clock skew allowed when checking `exp` and `iat`, in seconds.',
        }),
        maxTokenBytes: option(z.number().int().min(1024).max(16384).default(4096), {
          env: 'TESSERA_MAX_TOKEN_BYTES',
          description: 'Tokens longer than this are rejected before any parsing.',
        }),
      })
      .prefault({}),
    keys: z
      .strictObject({
        dir: option(z.string().min(1).default('keys'), {
          env: 'TESSERA_KEYS_DIR',
          description: "Directory of the hub's signing keys; shared by every hub instance.",
        }),
        jwksMaxAgeSeconds: option(z.number().int().min(0).max(86400).default(300), {
          env: 'TESSERA_JWKS_MAX_AGE',
          description: 'How long sites may cache the JWKS (`Cache-Control: max-age`).',
        }),
        reloadIntervalSeconds: option(z.number().int().min(1).max(3600).default(30), {
          env: 'TESSERA_KEYS_RELOAD',
          description: 'How often the hub rereads the keys directory to pick up rotations.',
        }),
      })
      .prefault({}),
    sessions: z
      .strictObject({
        idleTimeoutSeconds: option(z.number().int().min(60).max(604800).default(1800), {
          env: 'TESSERA_SESSION_IDLE_TIMEOUT',
          description: 'A session unused for this long ends (sliding).',
        }),
        absoluteTimeoutSeconds: option(z.number().int().min(60).max(31536000).default(43200), {
          env: 'TESSERA_SESSION_ABSOLUTE_TIMEOUT',
          description: 'A session ends this long after login, however active.',
        }),
        touchIntervalSeconds: option(z.number().int().min(1).max(3600).default(60), {
          env: 'TESSERA_SESSION_TOUCH_INTERVAL',
          description: 'The idle deadline is written at most this often per session.',
        }),
        maxPerUser: option(z.number().int().min(1).nullable().default(null), {
          env: 'TESSERA_SESSION_MAX_PER_USER',
          description: 'Concurrent sessions allowed per user. Unset means no limit.',
          defaultText: 'unset (no limit)',
        }),
        onLimit: option(z.enum(['refuse', 'end-oldest']).default('refuse'), {
          env: 'TESSERA_SESSION_ON_LIMIT',
          description: 'At the limit: `refuse` the new login or `end-oldest` session.',
        }),
      })
      .superRefine((sessions, ctx) => {
        const ok = cleanlyParsed(ctx);
        if (ok('idleTimeoutSeconds') && ok('absoluteTimeoutSeconds') && sessions.absoluteTimeoutSeconds < sessions.idleTimeoutSeconds) {
          ctx.addIssue({ code: 'custom', path: ['absoluteTimeoutSeconds'], message: 'must be at least idleTimeoutSeconds' });
        }
        if (ok('idleTimeoutSeconds') && ok('touchIntervalSeconds') && sessions.touchIntervalSeconds >= sessions.idleTimeoutSeconds) {
          ctx.addIssue({ code: 'custom', path: ['touchIntervalSeconds'], message: 'must be less than idleTimeoutSeconds' });
        }
      }, always)
      .prefault({}),
    login: z
      .strictObject({
        allowPassword: option(z.boolean().default(true), {
          env: 'TESSERA_LOGIN_PASSWORD',
          description: 'Offer sign-in with a password.',
        }),
        allowMagicLink: option(z.boolean().default(true), {
          env: 'TESSERA_LOGIN_MAGIC_LINK',
          description: 'Offer sign-in with an e-mailed single-use link.',
        }),
        magicLinkTtlSeconds: option(z.number().int().min(60).max(600).default(600), {
          env: 'TESSERA_MAGIC_LINK_TTL',
          description: 'Lifetime of a sign-in link (at most 10 minutes).',
        }),
        accountLimit: option(z.number().int().min(1).default(10), {
          env: 'TESSERA_LOGIN_ACCOUNT_LIMIT',
          description: 'Failed password attempts allowed per account (e-mail address) in one window, whoever makes them.',
        }),
        accountWindowSeconds: option(z.number().int().min(1).max(86400).default(900), {
          env: 'TESSERA_LOGIN_ACCOUNT_WINDOW',
          description: 'Length of the per-account window.',
        }),
        addressLimit: option(z.number().int().min(1).default(100), {
          env: 'TESSERA_LOGIN_ADDRESS_LIMIT',
          description: 'Login attempts allowed per client address in one window: passwords, link requests and uses, two-step codes, password and two-step changes (an IPv6 client counts as its /64).',
        }),
        addressWindowSeconds: option(z.number().int().min(1).max(86400).default(900), {
          env: 'TESSERA_LOGIN_ADDRESS_WINDOW',
          description: 'Length of the per-address window.',
        }),
        notifyNewSignIn: option(z.boolean().default(false), {
          env: 'TESSERA_LOGIN_NOTIFY',
          description: 'E-mail the person after each sign-in, naming the device and address.',
        }),
        linkLimit: option(z.number().int().min(1).default(5), {
          env: 'TESSERA_LOGIN_LINK_LIMIT',
          description: 'Sign-in links mailed to one address in one window, whoever asks (stops mail-bombing a person).',
        }),
        linkWindowSeconds: option(z.number().int().min(1).max(86400).default(3600), {
          env: 'TESSERA_LOGIN_LINK_WINDOW',
          description: 'The window of `login.linkLimit`, in seconds.',
        }),
      })
      .superRefine((login, ctx) => {
        const ok = cleanlyParsed(ctx);
        if (ok('allowPassword') && ok('allowMagicLink') && !login.allowPassword && !login.allowMagicLink) {
          ctx.addIssue({ code: 'custom', path: ['allowPassword'], message: 'allowPassword or allowMagicLink must be true, or nobody can sign in' });
        }
      }, always)
      .prefault({}),
    mail: z
      .strictObject({
        transport: option(z.enum(['file', 'smtp']).default('file'), {
          env: 'TESSERA_MAIL_TRANSPORT',
          description: '`smtp` sends mail; `file` (development) writes each message to `mail.dir` and logs its link.',
        }),
        from: option(emailAddress.default('tessera@localhost'), {
          env: 'TESSERA_MAIL_FROM',
          description: 'Sender address (From header and envelope).',
        }),
        dir: option(z.string().min(1).default('data/mail'), {
          env: 'TESSERA_MAIL_DIR',
          description: 'Where the `file` transport writes messages.',
        }),
        smtp: z
          .strictObject({
            host: option(z.string().min(1).nullable().default(null), {
              env: 'TESSERA_SMTP_HOST',
              description: 'SMTP server; required when the transport is `smtp`.',
              defaultText: 'unset',
            }),
            port: option(z.number().int().min(1).max(65535).default(587), {
              env: 'TESSERA_SMTP_PORT',
              description: 'SMTP port.',
            }),
            secure: option(z.boolean().default(false), {
              env: 'TESSERA_SMTP_SECURE',
              description: 'TLS from the first byte (usually port 465); false means STARTTLS.',
            }),
            requireTls: option(z.boolean().default(true), {
              env: 'TESSERA_SMTP_REQUIRE_TLS',
              description: 'Refuse to send unless the server upgrades to TLS with STARTTLS.',
            }),
            user: option(z.string().min(1).nullable().default(null), {
              env: 'TESSERA_SMTP_USER',
              description: 'SMTP user name; set together with the password.',
              defaultText: 'unset',
            }),
            password: option(z.string().min(1).nullable().default(null), {
              env: 'TESSERA_SMTP_PASSWORD',
              description: 'SMTP password; prefer the variable to the file.',
              defaultText: 'unset',
            }),
          })
          .prefault({}),
      })
      .superRefine((mail, ctx) => {
        const ok = cleanlyParsed(ctx);
        if (ok('transport') && ok('smtp', 'host') && mail.transport === 'smtp' && mail.smtp.host === null) {
          ctx.addIssue({ code: 'custom', path: ['smtp', 'host'], message: 'is required when transport is "smtp"' });
        }
        if (ok('smtp', 'user') && ok('smtp', 'password') && (mail.smtp.user === null) !== (mail.smtp.password === null)) {
          ctx.addIssue({ code: 'custom', path: ['smtp', mail.smtp.user === null ? 'user' : 'password'], message: 'user and password must be set together' });
        }
      }, always)
      .prefault({}),
    handoff: z
      .strictObject({
        bounceResponse: option(z.enum(['form_post', 'redirect']).default('form_post'), {
          env: 'TESSERA_HANDOFF_BOUNCE_RESPONSE',
          description: "How `/handoff` returns the token to the site's `accept`: an auto-submitting `form_post` (the token never enters a URL) or a 303 `redirect` with the token in the query.",
        }),
        strictReferer: option(z.boolean().default(false), {
          env: 'TESSERA_HANDOFF_STRICT_REFERER',
          description: 'Beacon requests must carry a `Referer` or `Origin` naming the token\'s `src`. Leave off when pages may send no referrer.',
        }),
        noBounceSeconds: option(z.number().int().min(1).max(86400).default(300), {
          env: 'TESSERA_HANDOFF_NO_BOUNCE',
          description: 'After the hub answers `login_required`, a receiver does not bounce that browser again (`prompt=none`) for this long.',
        }),
        stateCookieSeconds: option(z.number().int().min(60).max(3600).default(600), {
          env: 'TESSERA_HANDOFF_STATE_TTL',
          description: "Lifetime of the receiver's `state` cookie, set before a bounce and checked on return.",
        }),
        fanOutTimeoutMs: option(z.number().int().min(100).max(30000).default(3000), {
          env: 'TESSERA_HANDOFF_FAN_OUT_TIMEOUT',
          description: 'After a login, how long the hub page waits for its beacons before continuing anyway (milliseconds).',
        }),
        webhookUrl: option(endpointUrl.nullable().default(null), {
          env: 'TESSERA_HANDOFF_WEBHOOK',
          description: 'Where the hub POSTs each `session_replaced` event as JSON (fire and forget). Unset means in-process only.',
          defaultText: 'unset',
        }),
      })
      .prefault({}),
    alwaysReplace: option(z.boolean().default(false), {
      env: 'TESSERA_ALWAYS_REPLACE',
      description: "A handoff always replaces a site's existing session, even one of the same user.",
    }),
    sites: option(z.array(siteSchema).default([]), {
      env: 'TESSERA_SITES',
      description: 'The allow-list of sites, as a JSON array in the variable or a list in the file; keys below.',
      defaultText: '`[]`',
    }),
    admin: z
      .strictObject({
        reauthSeconds: option(z.number().int().min(0).max(86400).default(600), {
          env: 'TESSERA_ADMIN_REAUTH',
          description: 'The admin web UI asks for the password again before a destructive action when the last password entry is older than this (0: always).',
        }),
        requireTwoStep: option(z.boolean().default(false), {
          env: 'TESSERA_ADMIN_REQUIRE_TWO_STEP',
          description: 'The admin web UI serves only admins who have two-step sign-in on (others get 403 and the way to turn it on). Admin API tokens are not affected.',
        }),
        notifyOnRevoke: option(z.boolean().default(false), {
          env: 'TESSERA_ADMIN_NOTIFY_REVOKE',
          description: 'E-mail a person when an admin ends their sessions (revoke or disable).',
        }),
        auditRetentionDays: option(z.number().int().min(1).max(36500).default(365), {
          env: 'TESSERA_AUDIT_RETENTION_DAYS',
          description: 'Audit events, and back-channel logouts delivered or dropped, older than this are deleted by the hub\'s periodic purge.',
        }),
      })
      .prefault({}),
    outbox: z
      .strictObject({
        pollIntervalMs: option(z.number().int().min(10).max(600000).default(500), {
          env: 'TESSERA_OUTBOX_POLL_INTERVAL_MS',
          description: 'How often each hub looks for due back-channel logouts (retries, and deliveries queued by the CLI or another hub). A revocation in this hub wakes its worker at once, whatever this says.',
        }),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: option(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), {
          env: 'TESSERA_LOG_LEVEL',
          description: 'Log level (pino).',
        }),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        listen: option(listenAddress.nullable().default(null), {
          env: 'TESSERA_METRICS_LISTEN',
          description:
            'Serve `GET /metrics` without authentication on this `host:port` only (e.g. `127.0.0.1:9464`; `0.0.0.0:9464` in a container), and answer 404 for it on the public port. Unset: `/metrics` is on the public port and needs an admin token with the `metrics:read` scope.',
          defaultText: 'unset (public port, admin token)',
        }),
      })
      .prefault({}),
    limits: z
      .strictObject({
        maxBodyBytes: option(z.number().int().min(1024).max(10485760).default(65536), {
          env: 'TESSERA_MAX_BODY_BYTES',
          description: 'Request bodies larger than this are refused with 413.',
        }),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const ok = cleanlyParsed(ctx);
    const production = ok('env') && config.env === 'production';
    const development = ok('env') && config.env === 'development';
    const problem = (path: PropertyKey[], message: string): void => ctx.addIssue({ code: 'custom', path, message });

    if (production && ok('publicUrl') && config.publicUrl.startsWith('http:')) {
      problem(['publicUrl'], 'must use https in production');
    }
    // The file transport logs every magic link, and a link is a working sign-in credential.
    if (production && ok('mail', 'transport') && ok('login', 'allowMagicLink') && config.mail.transport === 'file' && config.login.allowMagicLink) {
      problem(['mail', 'transport'], 'must be smtp in production while magic links are on (the file transport writes sign-in links to disk and the log)');
    }
    // The metrics listener exists to keep /metrics off the public port: sharing it cannot work.
    if (ok('metrics', 'listen') && ok('listen', 'port') && config.metrics.listen !== null && config.metrics.listen.port !== 0 && config.metrics.listen.port === config.listen.port) {
      problem(['metrics', 'listen'], 'must use another port than the hub (listen.port)');
    }
    // Not even a mapping, or no list of sites: the schema has said so already.
    if (typeof config !== 'object' || config === null || !Array.isArray(config.sites)) return;
    const seen = new Map<string, number>();
    config.sites.forEach((site, i) => {
      if (!ok('sites', i)) return;
      // Plain http is tolerable only where nobody can listen in (SECURITY.md: never a cookie without Secure outside local development).
      const httpAllowed = (url: string): boolean => url.startsWith('https:') || (development && isLoopbackHost(new URL(url).hostname));
      if (ok('env') && !httpAllowed(site.origin)) {
        problem(['sites', i, 'origin'], `${ORIGIN_PROBLEM}; plain http is only for localhost in development`);
      }
      if (ok('env') && site.backchannelLogoutUri !== null && !httpAllowed(site.backchannelLogoutUri)) {
        problem(['sites', i, 'backchannelLogoutUri'], 'must be an https URL; plain http is only for localhost in development');
      }
      if (production && !site.cookie.secure) {
        problem(['sites', i, 'cookie', 'secure'], 'must be true in production');
      }
      if (ok('publicUrl') && site.origin === config.publicUrl) {
        problem(['sites', i, 'origin'], 'must differ from publicUrl (the hub is not a site)');
      }
      const first = seen.get(site.origin);
      if (first === undefined) seen.set(site.origin, i);
      else problem(['sites', i, 'origin'], `duplicates sites[${first}].origin`);
      // The application reads its projection from Redis; nothing else can read SQLite or the hub's memory.
      if (site.projection !== null && ok('store', 'url') && !/^redis/.test(config.store.url)) {
        problem(['sites', i, 'projection'], 'needs a Redis store (store.url redis://…, rediss://, redis+sentinel:// or redis+cluster://): the application reads its projection from Redis');
      }
      // The application writes `keyPrefix + <any session id it is sent>` (PHP accepts a cookie's
      // id unless use_strict_mode), and its Redis ACL covers that prefix: none of it may be the hub's.
      if (site.projection !== null && ok('store', 'keyPrefix') && projectionPrefixOverlapsHub(site.projection.keyPrefix, config.store.keyPrefix)) {
        problem(['sites', i, 'projection', 'keyPrefix'], "must not overlap the hub's own Redis keys (store.keyPrefix): the application can write any key under it");
      }
      if (site.cookie.maxAgeSeconds !== null && ok('sessions', 'absoluteTimeoutSeconds') && site.cookie.maxAgeSeconds > config.sessions.absoluteTimeoutSeconds) {
        problem(['sites', i, 'cookie', 'maxAgeSeconds'], 'must be at most sessions.absoluteTimeoutSeconds');
      }
    });
  }, always);

/** The validated configuration. `loadConfig` returns it deeply frozen. */
export type Config = z.output<typeof configSchema>;
/** One configured site (DESIGN.md "site"). */
export type Site = Config['sites'][number];

// --- the option table ----------------------------------------------------------------------

/** One row of the option table: what the loader and the README need to know about an option. */
export interface ConfigOption {
  /** Config-file key: `tokens.ttlSeconds`, or `sites[].cookie.name` for per-site keys. */
  key: string;
  /** Path into {@link Config} (per-site keys start with `sites`, `[]`). */
  path: readonly string[];
  /** Environment variable, when the option has one. */
  env: string | undefined;
  /** The default as shown in the README (`required` when there is none). */
  defaultText: string;
  description: string;
  /** The option's schema, used to convert environment strings to the right type. */
  schema: z.ZodType;
}

function listOptions(schema: z.ZodType, path: readonly string[]): ConfigOption[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodArray) return listOptions(inner.element as z.ZodType, [...path, '[]']);
  if (!(inner instanceof z.ZodObject)) return [];
  return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([name, field]) => {
    const fieldPath = [...path, name];
    const meta = optionRegistry.get(field);
    const row: ConfigOption[] = meta
      ? [{ key: fieldPath.join('.').replaceAll('.[]', '[]'), path: fieldPath, env: meta.env, defaultText: meta.defaultText ?? showDefault(field), description: meta.description, schema: field }]
      : [];
    return [...row, ...listOptions(field, fieldPath)];
  });
}

/** Looks through defaults, nullability and transforms to the type the input must have. */
export function unwrap(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault || schema instanceof z.ZodNullable || schema instanceof z.ZodOptional) {
    return unwrap(schema.unwrap() as z.ZodType);
  }
  if (schema instanceof z.ZodPipe) return unwrap(schema.in as z.ZodType);
  return schema;
}

function showDefault(schema: z.ZodType): string {
  if (!(schema instanceof z.ZodDefault)) return 'required';
  const value: unknown = schema.def.defaultValue;
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}

/**
 * Every option in schema order, with its config-file key, environment variable, default and
 * description: the single table from which environment variables are mapped and the README
 * is generated.
 *
 * @example
 * configOptions.find((o) => o.env === 'TESSERA_TOKEN_TTL')?.key; // 'tokens.ttlSeconds'
 */
export const configOptions: readonly ConfigOption[] = listOptions(configSchema, []);
