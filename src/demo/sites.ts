/**
 * The demo's cast: the hub and three sites on distinct host names under `.localhost` (RFC 6761:
 * always loopback), each its own registrable domain for the browser — so every handoff between
 * them is as cross-site as between example.com and example.org — and what each site module is
 * handed to build its app.
 */
import type http from 'node:http';
import type https from 'node:https';
import type { Logger } from '../log/logger';
import type { DemoSiteInfo } from './page';

export type DemoSiteName = 'shop' | 'news' | 'blog';
export type DemoServerName = 'hub' | DemoSiteName;

/** Host names, default ports and the variables that override the ports. */
export const DEMO_SERVERS: Readonly<Record<DemoServerName, { host: string; port: number; portEnv: string }>> = {
  hub: { host: 'hub.tessera.localhost', port: 8443, portEnv: 'TESSERA_DEMO_HUB_PORT' },
  shop: { host: 'shop.localhost', port: 8444, portEnv: 'TESSERA_DEMO_SHOP_PORT' },
  news: { host: 'news.localhost', port: 8445, portEnv: 'TESSERA_DEMO_NEWS_PORT' },
  blog: { host: 'blog.localhost', port: 8446, portEnv: 'TESSERA_DEMO_BLOG_PORT' },
};

/** How each site appears on the pages (the origin is filled in once its port is known). */
export const DEMO_SITE_LOOKS: Readonly<Record<DemoSiteName, Omit<DemoSiteInfo, 'origin'>>> = {
  shop: { name: 'Shop', way: 'destination SDK (Koa middleware)', accent: '#2453d6' },
  news: { name: 'News', way: 'destination SDK (plain node handler)', accent: '#8a3ffc' },
  blog: { name: 'Blog', way: 'hub as receiver (reverse proxy, no code)', accent: '#1e7d32' },
};

/** The session cookie each site sets (SDK sites through `cookie.name`, the blog through the hub's `sites[].cookie.name`). */
export const DEMO_SITE_COOKIES: Readonly<Record<DemoSiteName, string>> = { shop: 'shop_session', news: 'news_session', blog: 'blog_session' };

/** What a demo site module gets to build its app. */
export interface DemoSiteOptions {
  site: DemoSiteInfo;
  /** The other two demo sites. */
  others: readonly DemoSiteInfo[];
  hubUrl: string;
  /** Agent for this site's own requests to the hub: demo CA, `*.localhost` → 127.0.0.1. */
  agent: https.Agent;
  logger: Logger;
  /** The site's credential for the hub's site API (SDK sites only). */
  credential?: string;
  /** The name of the site's session cookie. */
  cookieName: string;
}

/** A demo site's request listener and how to release what it holds. */
export interface DemoSite {
  listener: http.RequestListener;
  close(): Promise<void>;
}
