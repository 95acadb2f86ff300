/**
 * The three demo sites without the hub, for a hub that runs elsewhere — the distributed
 * topology (docker-compose.yml, src/demo/topology.ts), where two `tessera serve` instances sit
 * behind nginx:
 *
 *   shop  https://shop.localhost:8444   destination SDK, listens itself
 *   news  https://news.localhost:8445   destination SDK, listens itself
 *   blog  https://blog.localhost:8446   hub as receiver: the reverse proxy owns this origin, routes
 *                                       `/shared-session/` to the hubs and everything else to the
 *                                       blog's app, which listens on its own port behind it
 *
 * The hub's configuration must list the same origins, the SHA-256 of each SDK site's credential
 * (`tessera sites credential`), and the SDK sites' back-channel logout endpoints.
 *
 *   TESSERA_DEMO_HUB_URL=https://hub.tessera.localhost:8443 node dist/demo/standalone-sites.js
 */
import { mkdirSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createLogger, type Logger } from '../log/logger';
import { createBlogSite } from './blog';
import { demoAgent } from './loopback';
import { createNewsSite } from './news';
import type { DemoSiteInfo } from './page';
import { createShopSite } from './shop';
import { DEMO_SERVERS, DEMO_SITE_COOKIES, DEMO_SITE_LOOKS, type DemoSite, type DemoSiteName, type DemoSiteOptions } from './sites';
import { ensureDemoTls } from './tls';
import { runUntilSignal } from './run-until-signal';

/** Every variable {@link demoSitesOptionsFromEnv} reads (test/config/docker-compose.test.ts checks the compose file against it). */
export const DEMO_SITES_ENV = [
  'TESSERA_DEMO_HUB_URL',
  'TESSERA_DEMO_HUB_ADDRESS',
  'TESSERA_DEMO_LISTEN_HOST',
  'TESSERA_DEMO_DATA_DIR',
  'TESSERA_DEMO_SHOP_PORT',
  'TESSERA_DEMO_NEWS_PORT',
  'TESSERA_DEMO_BLOG_PORT',
  'TESSERA_DEMO_BLOG_APP_PORT',
  'TESSERA_DEMO_SHOP_CREDENTIAL',
  'TESSERA_DEMO_NEWS_CREDENTIAL',
] as const;

/** The names every demo server uses, hub first: the certificate covers all of them. */
export const DEMO_HOSTS: readonly string[] = (['hub', 'shop', 'news', 'blog'] as const).map((name) => DEMO_SERVERS[name].host);

const siteNames: readonly DemoSiteName[] = ['shop', 'news', 'blog'];

export interface DemoSitesOptions {
  /** The hub's public URL, e.g. `https://hub.tessera.localhost:8443`. */
  hubUrl: string;
  /** Public port of each site (its origin). Default 8444, 8445, 8446. */
  ports?: Partial<Record<DemoSiteName, number>>;
  /** Where the blog's app listens behind the proxy that owns the blog's origin. Default 8447. */
  blogAppPort?: number;
  /** Interface the servers bind to. Default 127.0.0.1 (0.0.0.0 in a container). */
  listenHost?: string;
  /** The demo certificates live in `<dataDir>/demo-tls` (generated when missing). Default `data`. */
  dataDir?: string;
  /** Where the sites' own requests for `*.localhost` go (the proxy). Default 127.0.0.1. */
  hubAddress?: string;
  /** Site API credentials of the SDK sites; without one a site cannot call the hub's site API. */
  credentials?: Partial<Record<'shop' | 'news', string>>;
  logger?: Logger;
}

export interface RunningDemoSites {
  /** Each site's public origin. */
  sites: Readonly<Record<DemoSiteName, string>>;
  /** The port each server listens on: shop, news, and the blog's app (`blog`). */
  ports: Readonly<Record<DemoSiteName, number>>;
  tlsDir: string;
  stop(): Promise<void>;
}

/** Node's default header limit; requests beyond it get 431 (as `tessera serve`). */
const maxHeaderBytes = 16 * 1024;
const defaultBlogAppPort = 8447;

/** The site list the demo sites expect of the hub's configuration (`TESSERA_SITES`). */
export function demoSiteConfig(sites: Readonly<Record<DemoSiteName, string>>, credentialHashes: Partial<Record<'shop' | 'news', string>>, backchannelBase: Partial<Record<'shop' | 'news', string>> = {}): unknown[] {
  const sdk = (name: 'shop' | 'news') => ({
    origin: sites[name],
    name: DEMO_SITE_LOOKS[name].name,
    claims: ['email', 'name'],
    ...(credentialHashes[name] === undefined ? {} : { credentialHash: credentialHashes[name] }),
    backchannelLogoutUri: `${backchannelBase[name] ?? sites[name]}/shared-session/backchannel-logout`,
  });
  return [sdk('shop'), sdk('news'), { origin: sites.blog, name: DEMO_SITE_LOOKS.blog.name, claims: ['email', 'name'], cookie: { name: DEMO_SITE_COOKIES.blog } }];
}

/**
 * Starts shop, news and the blog's app against the hub at `options.hubUrl`. Resolves once all
 * three listen.
 *
 * @example
 * const sites = await startDemoSites({ hubUrl: 'https://hub.tessera.localhost:8443', credentials: { shop, news } });
 * await sites.stop();
 */
export async function startDemoSites(options: DemoSitesOptions): Promise<RunningDemoSites> {
  const logger = options.logger ?? createLogger({ level: 'info' });
  const dataDir = options.dataDir ?? 'data';
  const listenHost = options.listenHost ?? '127.0.0.1';
  mkdirSync(dataDir, { recursive: true });
  const tls = await ensureDemoTls(join(dataDir, 'demo-tls'), DEMO_HOSTS);
  if (tls.generated) logger.info({ dir: tls.dir }, 'generated the demo certificate authority and server certificate');
  const agent = demoAgent(tls.ca, options.hubAddress === undefined ? {} : { localhostAddress: options.hubAddress });

  const publicPort = (name: DemoSiteName): number => options.ports?.[name] ?? DEMO_SERVERS[name].port;
  const infos = Object.fromEntries(siteNames.map((name) => [name, { ...DEMO_SITE_LOOKS[name], origin: `https://${DEMO_SERVERS[name].host}:${publicPort(name)}` }])) as Record<DemoSiteName, DemoSiteInfo>;
  const factories: Record<DemoSiteName, (options: DemoSiteOptions) => DemoSite> = { shop: createShopSite, news: createNewsSite, blog: createBlogSite };
  const listenPorts: Record<DemoSiteName, number> = { shop: publicPort('shop'), news: publicPort('news'), blog: options.blogAppPort ?? defaultBlogAppPort };

  const sites: DemoSite[] = [];
  const servers: https.Server[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map(closeServer));
    await Promise.all(sites.map((site) => site.close()));
    agent.destroy();
  };
  try {
    const ports = {} as Record<DemoSiteName, number>;
    for (const name of siteNames) {
      const site = factories[name]({
        site: infos[name],
        others: siteNames.filter((other) => other !== name).map((other) => infos[other]),
        hubUrl: options.hubUrl,
        agent,
        logger: logger.child({ demoSite: name }),
        cookieName: DEMO_SITE_COOKIES[name],
        ...(name !== 'blog' && options.credentials?.[name] !== undefined ? { credential: options.credentials[name] } : {}),
      });
      sites.push(site);
      const server = https.createServer({ cert: tls.cert, key: tls.key, maxHeaderSize: maxHeaderBytes }, site.listener);
      servers.push(server);
      ports[name] = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(listenPorts[name], listenHost, () => resolve((server.address() as AddressInfo).port));
      });
    }
    logger.info({ hub: options.hubUrl, ...Object.fromEntries(siteNames.map((name) => [name, infos[name].origin])), blogApp: ports.blog }, 'demo sites listening');
    return { sites: { shop: infos.shop.origin, news: infos.news.origin, blog: infos.blog.origin }, ports, tlsDir: tls.dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function closeServer(server: https.Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function port(env: NodeJS.ProcessEnv, name: (typeof DEMO_SITES_ENV)[number]): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${name} must be a port number (0–65535), not ${JSON.stringify(raw)}`);
  return value;
}

/** {@link DemoSitesOptions} from `TESSERA_DEMO_*` variables (see {@link DEMO_SITES_ENV}). */
export function demoSitesOptionsFromEnv(env: NodeJS.ProcessEnv): DemoSitesOptions {
  const hubUrl = env.TESSERA_DEMO_HUB_URL;
  if (hubUrl === undefined || hubUrl === '') throw new Error('TESSERA_DEMO_HUB_URL must name the hub, e.g. https://hub.tessera.localhost:8443');
  const text = (name: (typeof DEMO_SITES_ENV)[number]): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const ports: Partial<Record<DemoSiteName, number>> = {};
  for (const [name, variable] of [['shop', 'TESSERA_DEMO_SHOP_PORT'], ['news', 'TESSERA_DEMO_NEWS_PORT'], ['blog', 'TESSERA_DEMO_BLOG_PORT']] as const) {
    const value = port(env, variable);
    if (value !== undefined) ports[name] = value;
  }
  const blogAppPort = port(env, 'TESSERA_DEMO_BLOG_APP_PORT');
  const credentials: Partial<Record<'shop' | 'news', string>> = {};
  if (text('TESSERA_DEMO_SHOP_CREDENTIAL') !== undefined) credentials.shop = text('TESSERA_DEMO_SHOP_CREDENTIAL')!;
  if (text('TESSERA_DEMO_NEWS_CREDENTIAL') !== undefined) credentials.news = text('TESSERA_DEMO_NEWS_CREDENTIAL')!;
  const listenHost = text('TESSERA_DEMO_LISTEN_HOST');
  const dataDir = text('TESSERA_DEMO_DATA_DIR');
  const hubAddress = text('TESSERA_DEMO_HUB_ADDRESS');
  return {
    hubUrl,
    ports,
    credentials,
    ...(blogAppPort === undefined ? {} : { blogAppPort }),
    ...(listenHost === undefined ? {} : { listenHost }),
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(hubAddress === undefined ? {} : { hubAddress }),
  };
}

runUntilSignal(module, 'demo sites', () => startDemoSites(demoSitesOptionsFromEnv(process.env)));
