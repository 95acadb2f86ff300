import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import type { ConfigProblem } from '../../src/config/load';
import { MAX_TOKEN_TTL_SECONDS, configOptions } from '../../src/config/schema';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tessera-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeFile(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The `path: reason` lines of the ERR_CONFIG_INVALID that loading throws. */
function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    const { code, problems, message } = err as { code?: string; problems?: ConfigProblem[]; message: string };
    expect(code).toBe('ERR_CONFIG_INVALID');
    const lines = (problems ?? []).map((p) => `${p.path}: ${p.message}`);
    // The message carries the very same lines, after one heading line.
    expect(message.split('\n').slice(1)).toEqual(lines);
    return lines;
  }
  throw new Error('expected ERR_CONFIG_INVALID, but the configuration loaded');
}

const sites = (list: unknown[]): Record<string, string> => ({ TESSERA_SITES: JSON.stringify(list) });
/** Projections need a Redis session store. */
const redisStore = { TESSERA_STORE: 'redis://redis.internal:6379' };

/** Production refuses the file mail transport while magic links are on. */
const smtpMail = { TESSERA_MAIL_TRANSPORT: 'smtp', TESSERA_SMTP_HOST: 'smtp.example.com' };

describe('loadConfig defaults', () => {
  it('gives every documented default with an empty environment and no file', () => {
    const { config, warnings } = loadConfig({ env: {} });
    expect(config).toEqual({
      env: 'development',
      publicUrl: 'http://localhost:8080',
      listen: { host: '127.0.0.1', port: 8080 },
      trustProxy: false,
      store: { url: 'sqlite:data/tessera.db', keyPrefix: 'tessera:' },
      database: { url: null },
      tokens: { algorithm: 'RS256', ttlSeconds: 30, clockToleranceSeconds: 5, maxTokenBytes: 4096 },
      keys: { dir: 'keys', jwksMaxAgeSeconds: 300, reloadIntervalSeconds: 30 },
      sessions: { idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 43200, touchIntervalSeconds: 60, maxPerUser: null, onLimit: 'refuse' },
      login: {
        allowPassword: true,
        allowMagicLink: true,
        magicLinkTtlSeconds: 600,
        accountLimit: 10,
        accountWindowSeconds: 900,
        addressLimit: 100,
        addressWindowSeconds: 900,
        notifyNewSignIn: false,
      linkLimit: 5,
      linkWindowSeconds: 3600,
      },
      mail: {
        transport: 'file',
        from: 'tessera@localhost',
        dir: 'data/mail',
        smtp: { host: null, port: 587, secure: false, requireTls: true, user: null, password: null },
      },
      handoff: { bounceResponse: 'form_post', strictReferer: false, noBounceSeconds: 300, stateCookieSeconds: 600, fanOutTimeoutMs: 3000, webhookUrl: null },
      alwaysReplace: false,
      sites: [],
      admin: { reauthSeconds: 600, requireTwoStep: false, notifyOnRevoke: false, auditRetentionDays: 365 },
      log: { level: 'info' },
      metrics: { listen: null },
      outbox: { pollIntervalMs: 500 },
      limits: { maxBodyBytes: 65536 },
    });
    expect(warnings).toEqual([]);
    expect(MAX_TOKEN_TTL_SECONDS).toBe(120);
  });

  it('fills per-site defaults and normalises origins', () => {
    const { config } = loadConfig({
      env: {
        TESSERA_STORE: 'redis://redis.internal:6379',
        ...sites([
          { origin: 'https://WWW.Example.org:443/' },
          { origin: 'https://shop.example.net', projection: { format: 'php_serialize' } },
          { origin: 'https://app.example.com', projection: { format: 'json', ttlSeconds: 60 }, credentialHash: 'AB'.repeat(32) },
        ]),
      },
    });
    const [org, shop, app] = config.sites;
    expect(org).toEqual({
      origin: 'https://www.example.org',
      name: 'www.example.org',
      cookie: { name: 'tessera_session', sameSite: 'none', secure: true, httpOnly: true, path: '/', domain: null, maxAgeSeconds: null },
      claims: [],
      backchannelLogoutUri: null,
      projection: null,
      receiverPath: '/shared-session/',
      beacon: 'script',
      credentialHash: null,
    });
    expect(shop?.projection).toEqual({ format: 'php_serialize', keyPrefix: 'PHPREDIS_SESSION:', fields: ['sub', 'sid'], ttlSeconds: null });
    expect(app?.projection?.keyPrefix).toBe('tessera:projection:');
    expect(app?.credentialHash).toBe('ab'.repeat(32));
  });
});

describe('loadConfig sources', () => {
  const yaml = [
    'publicUrl: https://login.example.com/',
    'tokens:',
    '  ttlSeconds: 60',
    '  algorithm: ES256',
    'sites:',
    '  - origin: https://www.example.org',
    '    claims: [email]',
    '    cookie: { sameSite: lax, maxAgeSeconds: 3600 }',
  ].join('\n');

  it('reads a YAML file', () => {
    const { config } = loadConfig({ env: {}, file: writeFile('hub.yaml', yaml) });
    expect(config.publicUrl).toBe('https://login.example.com');
    expect(config.tokens).toMatchObject({ ttlSeconds: 60, algorithm: 'ES256' });
    expect(config.sites[0]).toMatchObject({ origin: 'https://www.example.org', claims: ['email'], cookie: { sameSite: 'lax', maxAgeSeconds: 3600 } });
  });

  it('reads a JSON file named by TESSERA_CONFIG', () => {
    const file = writeFile('hub.json', JSON.stringify({ listen: { port: 9090 }, sessions: { maxPerUser: 3, onLimit: 'end-oldest' } }));
    const { config } = loadConfig({ env: { TESSERA_CONFIG: file } });
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(config.sessions).toMatchObject({ maxPerUser: 3, onLimit: 'end-oldest' });
  });

  it('lets environment variables override file keys and keeps the rest of the file', () => {
    const file = writeFile('override.yaml', yaml);
    const { config } = loadConfig({
      file,
      env: { TESSERA_TOKEN_TTL: '90', TESSERA_TRUST_PROXY: 'yes', ...sites([{ origin: 'https://other.example.net' }]) },
    });
    expect(config.tokens).toMatchObject({ ttlSeconds: 90, algorithm: 'ES256' });
    expect(config.trustProxy).toBe(true);
    // TESSERA_SITES replaces the whole list rather than merging into it.
    expect(config.sites.map((s) => s.origin)).toEqual(['https://other.example.net']);
  });

  it('treats an empty variable as unset', () => {
    const { config } = loadConfig({ env: { TESSERA_PORT: '', TESSERA_SESSION_MAX_PER_USER: '', TESSERA_CONFIG: '' } });
    expect(config.listen.port).toBe(8080);
    expect(config.sessions.maxPerUser).toBeNull();
  });

  it('reports a file it cannot read, parse or use', () => {
    const missing = path.join(dir, 'missing.yaml');
    expect(problemsOf(() => loadConfig({ env: {}, file: missing }))).toEqual([`${missing}: cannot be read (ENOENT)`]);
    const broken = writeFile('broken.yaml', 'tokens: [unclosed');
    expect(problemsOf(() => loadConfig({ env: {}, file: broken }))[0]).toMatch(/^.*broken\.yaml: is not valid YAML or JSON: /);
    const list = writeFile('list.yaml', '- a\n- b\n');
    expect(problemsOf(() => loadConfig({ env: {}, file: list }))).toEqual([`${list}: must hold a mapping of options`]);
  });

  it('maps every environment variable to an option that exists, once', () => {
    const { config } = loadConfig({ env: {} });
    const envOptions = configOptions.filter((o) => o.env !== undefined);
    expect(new Set(envOptions.map((o) => o.env)).size).toBe(envOptions.length);
    for (const option of envOptions) {
      expect(option.env).toMatch(/^TESSERA_[A-Z0-9_]+$/);
      const parent = option.path.slice(0, -1).reduce<Record<string, unknown>>((node, key) => node[key] as Record<string, unknown>, config);
      expect(Object.keys(parent)).toContain(option.path[option.path.length - 1]);
    }
  });
});

describe('loadConfig validation', () => {
  it('refuses a site origin with a path', () => {
    expect(problemsOf(() => loadConfig({ env: sites([{ origin: 'https://a.example.com' }, { origin: 'https://b.example.com/app' }]) }))).toEqual([
      'sites[1].origin: must be an https origin without path (TESSERA_SITES)',
    ]);
  });

  it.each(['https://a.example.com/?x=1', 'https://user@a.example.com', 'ftp://a.example.com', 'a.example.com', 'https://a.example.com/#top'])(
    'refuses %s as an origin',
    (origin) => {
      expect(problemsOf(() => loadConfig({ env: sites([{ origin }]) }))).toEqual(['sites[0].origin: must be an https origin without path (TESSERA_SITES)']);
    },
  );

  it('allows plain http for localhost sites only in development', () => {
    const local = [{ origin: 'http://localhost:3001' }, { origin: 'http://shop.localhost:3002' }, { origin: 'http://127.0.0.1:3003' }];
    expect(loadConfig({ env: sites(local) }).config.sites).toHaveLength(3);
    expect(problemsOf(() => loadConfig({ env: sites([{ origin: 'http://www.example.org' }]) }))).toEqual([
      'sites[0].origin: must be an https origin without path; plain http is only for localhost in development (TESSERA_SITES)',
    ]);
    const production = { TESSERA_ENV: 'production', TESSERA_PUBLIC_URL: 'https://login.example.com', ...smtpMail };
    expect(problemsOf(() => loadConfig({ env: { ...production, ...sites([{ origin: 'http://localhost:3001' }]) } }))).toEqual([
      'sites[0].origin: must be an https origin without path; plain http is only for localhost in development (TESSERA_SITES)',
    ]);
  });

  it('refuses a plain-http public URL in production, and accepts https', () => {
    expect(problemsOf(() => loadConfig({ env: { TESSERA_ENV: 'production', TESSERA_PUBLIC_URL: 'http://login.example.com', ...smtpMail } }))).toEqual([
      'publicUrl: must use https in production (TESSERA_PUBLIC_URL)',
    ]);
    expect(loadConfig({ env: { TESSERA_ENV: 'production', TESSERA_PUBLIC_URL: 'https://login.example.com', ...smtpMail } }).config.env).toBe('production');
  });

  it('refuses a public URL with a path', () => {
    expect(problemsOf(() => loadConfig({ env: { TESSERA_PUBLIC_URL: 'https://example.com/login' } }))).toEqual([
      'publicUrl: must be an https origin without path (TESSERA_PUBLIC_URL)',
    ]);
  });

  it('caps the token TTL at 120 seconds, naming the variable or not', () => {
    expect(problemsOf(() => loadConfig({ env: { TESSERA_TOKEN_TTL: '121' } }))).toEqual(['tokens.ttlSeconds: must be at most 120 (TESSERA_TOKEN_TTL)']);
    const file = writeFile('ttl.yaml', 'tokens: { ttlSeconds: 121 }');
    expect(problemsOf(() => loadConfig({ env: {}, file }))).toEqual(['tokens.ttlSeconds: must be at most 120']);
    expect(loadConfig({ env: { TESSERA_TOKEN_TTL: '120' } }).config.tokens.ttlSeconds).toBe(120);
  });

  it('refuses a duplicate site and a site that is the hub', () => {
    const env = { TESSERA_PUBLIC_URL: 'https://login.example.com', ...sites([{ origin: 'https://a.example.com' }, { origin: 'https://login.example.com' }, { origin: 'https://A.example.com/' }]) };
    expect(problemsOf(() => loadConfig({ env }))).toEqual([
      'sites[1].origin: must differ from publicUrl (the hub is not a site) (TESSERA_SITES)',
      'sites[2].origin: duplicates sites[0].origin (TESSERA_SITES)',
    ]);
  });

  it('refuses sameSite none without secure', () => {
    expect(problemsOf(() => loadConfig({ env: sites([{ origin: 'https://a.example.com', cookie: { secure: false } }]) }))).toEqual([
      'sites[0].cookie.secure: must be true when sameSite is "none", or browsers drop the cookie (TESSERA_SITES)',
    ]);
    expect(loadConfig({ env: sites([{ origin: 'https://a.example.com', cookie: { secure: false, sameSite: 'lax' } }]) }).config.sites[0]?.cookie.secure).toBe(false);
  });

  it('refuses an insecure cookie in production', () => {
    const env = { TESSERA_ENV: 'production', TESSERA_PUBLIC_URL: 'https://login.example.com', ...smtpMail, ...sites([{ origin: 'https://a.example.com', cookie: { secure: false, sameSite: 'lax' } }]) };
    expect(problemsOf(() => loadConfig({ env }))).toEqual(['sites[0].cookie.secure: must be true in production (TESSERA_SITES)']);
  });

  it('refuses an unknown algorithm', () => {
    expect(problemsOf(() => loadConfig({ env: { TESSERA_TOKEN_ALGORITHM: 'HS256' } }))).toEqual([
      'tokens.algorithm: must be one of "RS256", "ES256" (TESSERA_TOKEN_ALGORITHM)',
    ]);
  });

  it('checks cookie names, prefixes and domains against the site', () => {
    const env = sites([
      { origin: 'https://a.example.com', cookie: { name: 'bad name' } },
      { origin: 'https://b.example.com', cookie: { name: '__Host-sid', domain: 'example.com' } },
      { origin: 'https://c.example.com', cookie: { domain: 'example.org' } },
      { origin: 'https://d.example.com', cookie: { domain: '.Example.com', path: 'x' } },
    ]);
    expect(problemsOf(() => loadConfig({ env }))).toEqual([
      'sites[0].cookie.name: must be a cookie name (RFC 6265 token characters) (TESSERA_SITES)',
      'sites[1].cookie.name: a __Host- cookie needs path "/" and no domain (TESSERA_SITES)',
      'sites[2].cookie.domain: must be c.example.com or a parent domain of it (TESSERA_SITES)',
      'sites[3].cookie.path: must start with / and contain no spaces or semicolons (TESSERA_SITES)',
    ]);
    expect(loadConfig({ env: sites([{ origin: 'https://d.example.com', cookie: { domain: '.Example.com' } }]) }).config.sites[0]?.cookie.domain).toBe('example.com');
  });

  it('takes a receiver prefix only with plain segments between slashes', () => {
    const paths = ['/', 'shared-session/', '/shared-session', '/a/../', '/./', '/a b/'];
    expect(problemsOf(() => loadConfig({ env: sites(paths.map((receiverPath, i) => ({ origin: `https://s${i}.example.com`, receiverPath }))) }))).toEqual(
      paths.map((_, i) => `sites[${i}].receiverPath: must start and end with "/", with plain path segments between (TESSERA_SITES)`),
    );
    const { config } = loadConfig({ env: sites([{ origin: 'https://a.example.com', receiverPath: '/sso/v1/', beacon: 'image' }]) });
    expect(config.sites[0]).toMatchObject({ receiverPath: '/sso/v1/', beacon: 'image' });
  });

  it('reads the handoff options from their variables', () => {
    const { config } = loadConfig({
      env: {
        TESSERA_HANDOFF_BOUNCE_RESPONSE: 'redirect',
        TESSERA_HANDOFF_STRICT_REFERER: 'true',
        TESSERA_HANDOFF_NO_BOUNCE: '60',
        TESSERA_HANDOFF_STATE_TTL: '120',
        TESSERA_HANDOFF_FAN_OUT_TIMEOUT: '1500',
        TESSERA_HANDOFF_WEBHOOK: 'https://hooks.example.com/tessera',
      },
    });
    expect(config.handoff).toEqual({ bounceResponse: 'redirect', strictReferer: true, noBounceSeconds: 60, stateCookieSeconds: 120, fanOutTimeoutMs: 1500, webhookUrl: 'https://hooks.example.com/tessera' });
    expect(problemsOf(() => loadConfig({ env: { TESSERA_HANDOFF_BOUNCE_RESPONSE: 'fragment', TESSERA_HANDOFF_WEBHOOK: 'ftp://x.example.com/' } }))).toEqual([
      'handoff.bounceResponse: must be one of "form_post", "redirect" (TESSERA_HANDOFF_BOUNCE_RESPONSE)',
      'handoff.webhookUrl: must be an https URL without fragment (TESSERA_HANDOFF_WEBHOOK)',
    ]);
  });

  it('keeps projections within the claims allowed for the site', () => {
    const projection = { format: 'json', fields: ['sub', 'email'] };
    expect(problemsOf(() => loadConfig({ env: { ...redisStore, ...sites([{ origin: 'https://a.example.com', projection }]) } }))).toEqual([
      'sites[0].projection.fields: "email" is an identity claim not allowed in claims (TESSERA_SITES)',
    ]);
    expect(loadConfig({ env: { ...redisStore, ...sites([{ origin: 'https://a.example.com', claims: ['email'], projection }]) } }).config.sites[0]?.projection?.fields).toEqual(['sub', 'email']);
  });

  it('knows every projection field by name, once each, and no other', () => {
    const all = ['sub', 'user_id', 'sid', 'tessera_sid', 'email', 'name', 'roles', 'created_at', 'expires_at'];
    const site = (fields: unknown) => ({ ...redisStore, ...sites([{ origin: 'https://a.example.com', claims: ['email', 'name', 'roles'], projection: { format: 'php', fields } }]) });
    expect(loadConfig({ env: site(all) }).config.sites[0]?.projection?.fields).toEqual(all);
    expect(problemsOf(() => loadConfig({ env: site(['user_id', 'password']) }))).toEqual([`sites[0].projection.fields[1]: must be one of ${all.join(', ')} (TESSERA_SITES)`]);
    expect(problemsOf(() => loadConfig({ env: site(['user_id', 'email', 'user_id']) }))).toEqual(['sites[0].projection.fields: must not list a field twice (TESSERA_SITES)']);
    expect(problemsOf(() => loadConfig({ env: site([]) }))).toEqual(['sites[0].projection.fields: must name at least one field (TESSERA_SITES)']);
  });

  it('refuses projections unless sessions live in Redis, which the application reads', () => {
    const projected = sites([{ origin: 'https://a.example.com' }, { origin: 'https://b.example.com', projection: { format: 'php_serialize' } }]);
    const problem = 'sites[1].projection: needs a Redis store (store.url redis://…, rediss://, redis+sentinel:// or redis+cluster://): the application reads its projection from Redis (TESSERA_SITES)';
    expect(problemsOf(() => loadConfig({ env: projected }))).toEqual([problem]);
    expect(problemsOf(() => loadConfig({ env: { ...projected, TESSERA_STORE: 'memory:' } }))).toEqual([problem]);
    for (const url of ['redis://r:6379', 'rediss://r:6380', 'redis+sentinel://s:26379/main', 'redis+cluster://a:6379,b:6379']) {
      expect(loadConfig({ env: { ...projected, TESSERA_STORE: url } }).config.sites[1]?.projection?.format).toBe('php_serialize');
    }
  });

  it("refuses a projection keyPrefix whose keys could be the hub's own (the application writes under it)", () => {
    const site = (keyPrefix: string, storePrefix = 'tessera:') => ({ ...redisStore, TESSERA_STORE_PREFIX: storePrefix, ...sites([{ origin: 'https://a.example.com', projection: { format: 'php', keyPrefix } }]) });
    const problem = 'sites[0].projection.keyPrefix: must not overlap the hub\'s own Redis keys (store.keyPrefix): the application can write any key under it (TESSERA_SITES)';
    for (const keyPrefix of ['tessera:', 'tessera', 'tes', 'tessera:session:', 'tessera:s', 'tessera:user:', 'tessera:projections', 'tessera:rl:', 'tessera:jti:']) {
      expect(problemsOf(() => loadConfig({ env: site(keyPrefix) }))).toEqual([problem]);
    }
    expect(problemsOf(() => loadConfig({ env: site('hub:sessions', 'hub:') }))).toEqual([problem]);
    for (const [keyPrefix, storePrefix] of [['PHPREDIS_SESSION:', 'tessera:'], ['PHPREDIS_SESSION:', 'hub:'], ['tessera:projection:', 'tessera:'], ['app:', 'tessera:'], ['tessera2:', 'tessera:']] as const) {
      expect(loadConfig({ env: site(keyPrefix, storePrefix) }).config.sites[0]?.projection?.keyPrefix).toBe(keyPrefix);
    }
    expect(loadConfig({ env: { ...redisStore, ...sites([{ origin: 'https://a.example.com', projection: { format: 'json' } }]) } }).config.sites[0]?.projection?.keyPrefix).toBe('tessera:projection:');
  });

  it('checks timeouts against each other and cookie lifetimes against them', () => {
    const env = { TESSERA_SESSION_IDLE_TIMEOUT: '3600', TESSERA_SESSION_ABSOLUTE_TIMEOUT: '600', TESSERA_SESSION_TOUCH_INTERVAL: '3600' };
    expect(problemsOf(() => loadConfig({ env }))).toEqual([
      'sessions.absoluteTimeoutSeconds: must be at least idleTimeoutSeconds (TESSERA_SESSION_ABSOLUTE_TIMEOUT)',
      'sessions.touchIntervalSeconds: must be less than idleTimeoutSeconds (TESSERA_SESSION_TOUCH_INTERVAL)',
    ]);
    expect(problemsOf(() => loadConfig({ env: sites([{ origin: 'https://a.example.com', cookie: { maxAgeSeconds: 86400 } }]) }))).toEqual([
      'sites[0].cookie.maxAgeSeconds: must be at most sessions.absoluteTimeoutSeconds (TESSERA_SITES)',
    ]);
  });

  it('checks login and mail settings', () => {
    const env = { TESSERA_LOGIN_PASSWORD: 'false', TESSERA_LOGIN_MAGIC_LINK: 'off', TESSERA_MAIL_TRANSPORT: 'smtp', TESSERA_SMTP_USER: 'mailer', TESSERA_MAIL_FROM: 'Login <login@example.com>' };
    expect(problemsOf(() => loadConfig({ env }))).toEqual([
      'login.allowPassword: allowPassword or allowMagicLink must be true, or nobody can sign in (TESSERA_LOGIN_PASSWORD)',
      'mail.from: must be a bare e-mail address such as login@example.com (TESSERA_MAIL_FROM)',
      'mail.smtp.host: is required when transport is "smtp"',
      'mail.smtp.password: user and password must be set together',
    ]);
  });

  it('names values of the wrong type and unknown keys', () => {
    const file = writeFile('typos.yaml', 'tokens: { ttlSecond: 30 }\nlisten: { port: "80" }\nsites: [{ origin: https://a.example.com, cookies: {} }]\n');
    expect(problemsOf(() => loadConfig({ env: { TESSERA_PORT: 'eighty', TESSERA_TRUST_PROXY: 'maybe', TESSERA_SESSION_MAX_PER_USER: '1.5' }, file }))).toEqual([
      'listen.port: must be a number (TESSERA_PORT)',
      'trustProxy: must be a boolean (TESSERA_TRUST_PROXY)',
      'tokens.ttlSecond: is not a known option',
      'sessions.maxPerUser: must be an integer (TESSERA_SESSION_MAX_PER_USER)',
      'sites[0].cookies: is not a known option',
    ]);
  });

  it('says which variable holds JSON that does not parse', () => {
    const [line] = problemsOf(() => loadConfig({ env: { TESSERA_SITES: '[{"origin":' } }));
    expect(line).toMatch(/^sites: must be a JSON array: .+ \(TESSERA_SITES\)$/);
  });

  it('lists every problem at once, one mistake never hiding another', () => {
    const env = {
      TESSERA_ENV: 'production',
      TESSERA_PUBLIC_URL: 'http://login.example.com',
      ...smtpMail,
      TESSERA_TOKEN_TTL: '121',
      TESSERA_TOKEN_ALGORITHM: 'none',
      ...sites([
        { origin: 'https://a.example.com/path' },
        { origin: 'https://b.example.com', cookie: { sameSite: 'none', secure: false } },
        { origin: 'https://c.example.com' },
        { origin: 'https://c.example.com' },
        { origin: 'https://d.example.com', cookie: { sameSite: 'sometimes' } },
      ]),
    };
    expect(problemsOf(() => loadConfig({ env }))).toEqual([
      'tokens.algorithm: must be one of "RS256", "ES256" (TESSERA_TOKEN_ALGORITHM)',
      'tokens.ttlSeconds: must be at most 120 (TESSERA_TOKEN_TTL)',
      'sites[0].origin: must be an https origin without path (TESSERA_SITES)',
      'sites[1].cookie.secure: must be true when sameSite is "none", or browsers drop the cookie (TESSERA_SITES)',
      'sites[4].cookie.sameSite: must be one of "none", "lax", "strict" (TESSERA_SITES)',
      'publicUrl: must use https in production (TESSERA_PUBLIC_URL)',
      'sites[3].origin: duplicates sites[2].origin (TESSERA_SITES)',
    ]);
  });
});

describe('loadConfig result', () => {
  it('is deeply frozen', () => {
    const { config } = loadConfig({ env: sites([{ origin: 'https://a.example.com', claims: ['email'] }]) });
    const site = config.sites[0]!;
    expect(() => {
      config.tokens.ttlSeconds = 1;
    }).toThrow(TypeError);
    expect(() => {
      site.cookie.secure = false;
    }).toThrow(TypeError);
    expect(() => config.sites.push(site)).toThrow(TypeError);
    expect(() => site.claims.push('roles')).toThrow(TypeError);
    expect(config.tokens.ttlSeconds).toBe(30);
    expect(site.claims).toEqual(['email']);
  });
});

describe('loadConfig warnings', () => {
  it('warns loudly about the memory store, in production above all', () => {
    const production = loadConfig({ env: { TESSERA_ENV: 'production', TESSERA_PUBLIC_URL: 'https://login.example.com', TESSERA_STORE: 'memory:', TESSERA_LOGIN_MAGIC_LINK: 'false' } });
    // The other is the file mail transport's (below).
    expect(production.warnings).toHaveLength(2);
    expect(production.warnings[0]).toMatch(/^PRODUCTION HUB ON THE MEMORY STORE: store\.url \(TESSERA_STORE\) is memory: .*vanish on restart/);
    expect(loadConfig({ env: { TESSERA_STORE: 'memory:' } }).warnings).toEqual([expect.stringMatching(/^store\.url \(TESSERA_STORE\) is memory:/)]);
    expect(loadConfig({ env: { TESSERA_STORE: 'redis://127.0.0.1:6379' } }).warnings).toEqual([]);
  });

  it('refuses the file mail transport in production while magic links are on: it logs working sign-in links', () => {
    expect(problemsOf(() => loadConfig({ env: { TESSERA_ENV: 'production', TESSERA_PUBLIC_URL: 'https://login.example.com' } }))).toEqual([
      'mail.transport: must be smtp in production while magic links are on (the file transport writes sign-in links to disk and the log)',
    ]);
  });

  it('warns when production e-mails only reach files, naming the absolute directory the file transport writes to', () => {
    const production = { TESSERA_ENV: 'production', TESSERA_PUBLIC_URL: 'https://login.example.com', TESSERA_LOGIN_MAGIC_LINK: 'false' };
    const warning = (dir: string) => `mail.transport (TESSERA_MAIL_TRANSPORT) is file in production: e-mails to account holders (notices, e-mail change links) are written to ${dir}, nobody receives them`;
    // A relative mail.dir is taken from the working directory, as the file transport takes it.
    expect(loadConfig({ env: { ...production, TESSERA_LOGIN_NOTIFY: 'true' } }).warnings).toEqual([warning(path.resolve('data/mail'))]);
    // Account notices and e-mail change links are mailed without sign-in notices too.
    expect(loadConfig({ env: { ...production, TESSERA_MAIL_DIR: '/var/spool/tessera' } }).warnings).toEqual([warning('/var/spool/tessera')]);
    expect(loadConfig({ env: { ...production, TESSERA_MAIL_TRANSPORT: 'smtp', TESSERA_SMTP_HOST: 'smtp.example.com' } }).warnings).toEqual([]);
  });

  it('warns about a site with an API credential (an SDK site) but no back-channel logout endpoint', () => {
    const credentialHash = 'ab'.repeat(32);
    const sites = (backchannelLogoutUri: string | null) =>
      JSON.stringify([
        { origin: 'https://shop.example.net', credentialHash, backchannelLogoutUri },
        { origin: 'https://blog.example.org' },
      ]);
    expect(loadConfig({ env: { TESSERA_SITES: sites(null) } }).warnings).toEqual([
      'site https://shop.example.net has an API credential but no backchannelLogoutUri: revocations reach its own sessions only by front-channel beacons and status checks',
    ]);
    expect(loadConfig({ env: { TESSERA_SITES: sites('https://shop.example.net/shared-session/backchannel-logout') } }).warnings).toEqual([]);
  });

  it('warns about sites whose projections share a key prefix: a cookie copied from one reads the other', () => {
    const shared = loadConfig({
      env: {
        ...redisStore,
        ...sites([
          { origin: 'https://shop.example.net', projection: { format: 'php' } },
          { origin: 'https://blog.example.org', projection: { format: 'php_serialize' } },
          { origin: 'https://app.example.com', projection: { format: 'json' } },
        ]),
      },
    });
    expect(shared.warnings).toEqual([
      "sites https://shop.example.net and https://blog.example.org share projection.keyPrefix PHPREDIS_SESSION:: a visitor who copies one site's cookie to the other carries that site's session there; give each its own prefix unless they are one application",
    ]);
    const apart = loadConfig({
      env: {
        ...redisStore,
        ...sites([
          { origin: 'https://shop.example.net', projection: { format: 'php', keyPrefix: 'shop:PHPREDIS_SESSION:' } },
          { origin: 'https://blog.example.org', projection: { format: 'php_serialize' } },
        ]),
      },
    });
    expect(apart.warnings).toEqual([]);
  });

  it('accepts every store URL form', () => {
    for (const url of ['sqlite:/var/lib/tessera.db', 'memory:', 'redis://r:6379/0', 'rediss://r:6380', 'redis+sentinel://s1:26379,s2:26379/main', 'redis+cluster://c1:7000,c2:7000']) {
      expect(loadConfig({ env: { TESSERA_STORE: url } }).config.store.url).toBe(url);
    }
    expect(problemsOf(() => loadConfig({ env: { TESSERA_STORE: 'mysql://db', TESSERA_DATABASE: 'mysql://db' } }))).toEqual([
      'store.url: must be sqlite:<path>, memory:, or a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL (TESSERA_STORE)',
      'database.url: must be a postgres:// URL (TESSERA_DATABASE)',
    ]);
  });
});
