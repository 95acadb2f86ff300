/**
 * `npm start`: the hub and three demo sites in one process, over HTTPS on their own host names,
 * on the embedded store (SQLite under `data/`), so one command shows a login at the hub becoming
 * a session on sites of different registrable domains:
 *
 *   hub   https://hub.tessera.localhost:8443   the login hub
 *   shop  https://shop.localhost:8444          destination SDK
 *   news  https://news.localhost:8445          destination SDK
 *   blog  https://blog.localhost:8446          hub as receiver (reverse proxy)
 *
 * The configuration is built here rather than read from a file: the site list with its origins,
 * a fresh API credential per SDK site for every run (the hub keeps only their SHA-256), the
 * identity claims `email` and `name`, the file mail transport, and a demo user created when
 * absent. Certificates come from {@link ensureDemoTls}. Ports follow `TESSERA_DEMO_*_PORT`;
 * tests call {@link startDemo} with port 0 and a temporary data directory.
 */
import { mkdirSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { newSiteCredential } from '../cli/commands/sites';
import { loadConfig } from '../config/load';
import { systemClock } from '../core/clock';
import { createHub } from '../hub/app';
import { createLogger, type Logger, type LogLevel } from '../log/logger';
import { createDeliveryWorker, hubDeps, openKeyring, startMaintenance, tuneGarbageCollector } from '../main';
import { agentFetch } from '../outbox/agent-fetch';
import { openStores, type OpenedStores } from '../stores/open';
import { hashPassword } from '../users/password';
import { createBlogSite } from './blog';
import { demoAgent } from './loopback';
import { createNewsSite } from './news';
import type { DemoSiteInfo } from './page';
import { createShopSite } from './shop';
import { DEMO_SERVERS, DEMO_SITE_COOKIES, DEMO_SITE_LOOKS, type DemoServerName, type DemoSite, type DemoSiteName, type DemoSiteOptions } from './sites';
import { ensureDemoTls } from './tls';
import { runUntilSignal } from './run-until-signal';

/** The account the demo creates when it is missing. */
export const DEMO_USER = { email: 'demo@tessera.localhost', password: 'demo-password', name: 'Demo User' } as const;

export interface DemoOptions {
  /** Data directory: `tessera.db`, `mail/`, `demo-tls/`. Default `data`. */
  dataDir?: string;
  /** The hub's signing keys. Default `keys` (the hub's default, so the CLI sees the same keys). */
  keysDir?: string;
  /** Port per server; 0 picks a free one. Default from `TESSERA_DEMO_*_PORT`, else 8443–8446. */
  ports?: Partial<Record<DemoServerName, number>>;
  /** Default `info`. */
  logLevel?: LogLevel;
  /** Default: pino on standard output at `logLevel`. */
  logger?: Logger;
  /** Also create an account with this e-mail, the `admin` role and the demo password when absent (tests of the admin UI). */
  adminEmail?: string;
}

export interface RunningDemo {
  /** `https://hub.tessera.localhost:<port>`. */
  hubUrl: string;
  /** Each site's origin. */
  sites: Readonly<Record<DemoSiteName, string>>;
  /** The name of each site's session cookie. */
  cookieNames: Readonly<Record<DemoSiteName, string>>;
  /** The port each server listens on (127.0.0.1). */
  ports: Readonly<Record<DemoServerName, number>>;
  /** PEM of the demo's certificate authority, and the directory holding it. */
  ca: string;
  tlsDir: string;
  user: { email: string; password: string };
  /** Closes the servers, the SDK sites and the stores. */
  stop(): Promise<void>;
}

/** Node's default header limit; requests beyond it get 431 (as `tessera serve`). */
const maxHeaderBytes = 16 * 1024;
const serverNames: readonly DemoServerName[] = ['hub', 'shop', 'news', 'blog'];
const siteNames: readonly DemoSiteName[] = ['shop', 'news', 'blog'];

function portsFromEnvironment(env: NodeJS.ProcessEnv): Partial<Record<DemoServerName, number>> {
  const ports: Partial<Record<DemoServerName, number>> = {};
  for (const name of serverNames) {
    const variable = DEMO_SERVERS[name].portEnv;
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${variable} must be a port number (0–65535), not ${JSON.stringify(raw)}`);
    ports[name] = port;
  }
  return ports;
}

/**
 * Starts the hub and the three sites. Resolves once all four listen on 127.0.0.1.
 *
 * @example
 * const demo = await startDemo({ dataDir: tmp, keysDir: join(tmp, 'keys'), ports: { hub: 0, shop: 0, news: 0, blog: 0 }, logLevel: 'silent' });
 * await demo.stop();
 */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const dataDir = options.dataDir ?? 'data';
  const keysDir = options.keysDir ?? 'keys';
  const logger = options.logger ?? createLogger({ level: options.logLevel ?? 'info' });
  mkdirSync(dataDir, { recursive: true });
  const tls = await ensureDemoTls(join(dataDir, 'demo-tls'), serverNames.map((name) => DEMO_SERVERS[name].host));
  if (tls.generated) logger.info({ dir: tls.dir }, 'generated the demo certificate authority and server certificate');

  // Listen first with a placeholder: ports chosen by the system (0) must be known before the
  // configuration, because every origin includes its port.
  const listeners: Partial<Record<DemoServerName, http.RequestListener>> = {};
  const servers = Object.fromEntries(
    serverNames.map((name) => [
      name,
      https.createServer({ cert: tls.cert, key: tls.key, maxHeaderSize: maxHeaderBytes }, (req, res) => {
        const listener = listeners[name];
        if (listener) return listener(req, res);
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('Starting.');
      }),
    ]),
  ) as Record<DemoServerName, https.Server>;
  const ports = {} as Record<DemoServerName, number>;
  const wanted = { ...portsFromEnvironment(process.env), ...options.ports };

  let stores: OpenedStores | null = null;
  const sites: DemoSite[] = [];
  const agent = demoAgent(tls.ca);
  let maintenance: { stop(): Promise<void> } | null = null;
  const stopAll = async (): Promise<void> => {
    const maintenanceStopped = maintenance?.stop();
    await Promise.all(serverNames.map((name) => closeServer(servers[name])));
    await maintenanceStopped;
    await Promise.all(sites.map((site) => site.close()));
    agent.destroy();
    await stores?.close();
  };
  try {
    for (const name of serverNames) ports[name] = await listen(servers[name], wanted[name] ?? DEMO_SERVERS[name].port, DEMO_SERVERS[name].portEnv);
    const origin = (name: DemoServerName): string => `https://${DEMO_SERVERS[name].host}:${ports[name]}`;
    const hubUrl = origin('hub');
    const infos = Object.fromEntries(siteNames.map((name) => [name, { ...DEMO_SITE_LOOKS[name], origin: origin(name) }])) as Record<DemoSiteName, DemoSiteInfo>;
    const credentials = { shop: newSiteCredential(), news: newSiteCredential() };

    const { config } = loadConfig({
      env: {
        TESSERA_ENV: 'development',
        TESSERA_PUBLIC_URL: hubUrl,
        TESSERA_PORT: String(ports.hub),
        TESSERA_STORE: `sqlite:${join(dataDir, 'tessera.db')}`,
        TESSERA_KEYS_DIR: keysDir,
        TESSERA_MAIL_TRANSPORT: 'file',
        TESSERA_MAIL_DIR: join(dataDir, 'mail'),
        TESSERA_MAIL_FROM: 'login@hub.tessera.localhost',
        TESSERA_LOG_LEVEL: logger.level,
        TESSERA_SITES: JSON.stringify([
          { origin: infos.shop.origin, name: infos.shop.name, claims: ['email', 'name'], credentialHash: credentials.shop.credentialHash, backchannelLogoutUri: `${infos.shop.origin}/shared-session/backchannel-logout` },
          { origin: infos.news.origin, name: infos.news.name, claims: ['email', 'name'], credentialHash: credentials.news.credentialHash, backchannelLogoutUri: `${infos.news.origin}/shared-session/backchannel-logout` },
          { origin: infos.blog.origin, name: infos.blog.name, claims: ['email', 'name'], cookie: { name: DEMO_SITE_COOKIES.blog } },
        ]),
      },
    });

    stores = await openStores(config, systemClock, logger);
    await ensureDemoUser(stores, logger, { email: DEMO_USER.email, name: DEMO_USER.name, roles: [] });
    if (options.adminEmail !== undefined) await ensureDemoUser(stores, logger, { email: options.adminEmail, name: 'Demo Admin', roles: ['admin'] });
    const keyring = await openKeyring(config, systemClock, logger);
    const worker = createDeliveryWorker(config, systemClock, logger, stores, keyring, { fetch: agentFetch(agent) });
    listeners.hub = createHub(hubDeps(config, systemClock, logger, stores, keyring, worker)).callback();
    maintenance = startMaintenance(config, systemClock, logger, stores, keyring, worker);

    const factories: Record<DemoSiteName, (options: DemoSiteOptions) => DemoSite> = { shop: createShopSite, news: createNewsSite, blog: createBlogSite };
    for (const name of siteNames) {
      const site = factories[name]({
        site: infos[name],
        others: siteNames.filter((other) => other !== name).map((other) => infos[other]),
        hubUrl,
        agent,
        logger: logger.child({ demoSite: name }),
        cookieName: DEMO_SITE_COOKIES[name],
        ...(name === 'shop' || name === 'news' ? { credential: credentials[name].credential } : {}),
      });
      sites.push(site);
      listeners[name] = site.listener;
    }

    logger.info({ hub: hubUrl, ...Object.fromEntries(siteNames.map((name) => [name, infos[name].origin])) }, 'demo listening');
    let stopping: Promise<void> | null = null;
    return {
      hubUrl,
      sites: { shop: infos.shop.origin, news: infos.news.origin, blog: infos.blog.origin },
      cookieNames: DEMO_SITE_COOKIES,
      ports: { ...ports },
      ca: tls.ca,
      tlsDir: tls.dir,
      user: { email: DEMO_USER.email, password: DEMO_USER.password },
      stop: () => (stopping ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Creates the account with the demo password unless one with that e-mail exists. */
export async function ensureDemoUser(stores: OpenedStores, logger: Logger, user: { email: string; name: string; roles: string[] }): Promise<void> {
  if ((await stores.users.findByEmail(user.email)) !== null) return;
  await stores.users.create({ ...user, passwordHash: await hashPassword(DEMO_USER.password) });
  logger.info({ email: user.email, roles: user.roles }, 'created a demo user');
}

function listen(server: https.Server, port: number, portEnv: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException): void => {
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} on 127.0.0.1 is in use (is the demo already running?); choose another with ${portEnv}`, { cause: err }) : err);
    };
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', fail);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: https.Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** What to open, for the person who ran `npm start`. */
export function demoBanner(demo: RunningDemo): string {
  const line = (label: string, url: string, note: string): string => `  ${label.padEnd(5)} ${url.padEnd(42)} ${note}`;
  return [
    '',
    'Tessera demo: one login at the hub, one session on three sites of different domains.',
    '',
    line('hub', `${demo.hubUrl}/login`, 'sign in here'),
    line('shop', `${demo.sites.shop}/`, 'destination SDK'),
    line('news', `${demo.sites.news}/`, 'destination SDK'),
    line('blog', `${demo.sites.blog}/`, 'hub as receiver (reverse proxy)'),
    '',
    `  Sign in as ${demo.user.email} with the password ${demo.user.password}.`,
    '',
    '  Chromium, Chrome and Firefox resolve *.localhost to this machine by themselves; no hosts file needed.',
    `  The certificates are signed by the demo's own authority, ${join(demo.tlsDir, 'ca.pem')}:`,
    '  import it as a trusted authority in your browser, or use a throw-away profile that ignores certificate errors:',
    `    chromium --user-data-dir="$(mktemp -d)" --ignore-certificate-errors ${demo.hubUrl}/login`,
    '  Beacons set cookies only where the browser allows third-party cookies; where it blocks them,',
    '  each site bounces through the hub once instead.',
    '',
  ].join('\n');
}

runUntilSignal(module, 'demo', async () => {
  tuneGarbageCollector();
  const demo = await startDemo();
  process.stdout.write(`${demoBanner(demo)}\n`);
  return demo;
});
