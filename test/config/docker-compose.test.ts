/**
 * docker-compose.yml cannot run here (no Docker engine), so its shape is checked instead: every
 * variable is a real option, both hub instances share one configuration, Redis, PostgreSQL and
 * keys volume, the proxy configuration routes to both of them, and the demo sites agree with the
 * hubs' site list. test/distributed/topology.test.ts runs the same topology as local processes
 * with the same proxy template.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load';
import { CONFIG_FILE_ENV, configOptions } from '../../src/config/schema';
import { DEMO_SITES_ENV, demoSiteConfig, demoSitesOptionsFromEnv } from '../../src/demo/standalone-sites';
import { renderProxyConfig } from '../../src/demo/topology';

interface Service {
  build?: unknown;
  image?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string | number | boolean> | string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  volumes?: string[];
  ports?: string[];
  networks?: Record<string, { aliases?: string[] } | null>;
}

const root = path.join(__dirname, '../..');
const text = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
const compose = parse(text) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;
const configVariables = new Set([CONFIG_FILE_ENV, ...configOptions.flatMap((o) => (o.env === undefined ? [] : [o.env]))]);
const demoVariables = new Set<string>(DEMO_SITES_ENV);

/** A service's environment as a map, with `${VAR:-default}` resolved the way compose does when VAR is unset. */
function environmentOf(service: Service): Record<string, string> {
  const entries = Array.isArray(service.environment)
    ? service.environment.map((item) => item.split(/=(.*)/s).slice(0, 2) as [string, string])
    : Object.entries(service.environment ?? {}).map(([key, value]) => [key, String(value)] as [string, string]);
  return Object.fromEntries(entries.map(([key, value]) => [key, value.replace(/\$\{\w+(?::?-([^}]*))?\}/g, (_, fallback: string | undefined) => fallback ?? '')]));
}

function dependsOn(service: Service): Record<string, string | undefined> {
  const deps = service.depends_on ?? {};
  return Array.isArray(deps) ? Object.fromEntries(deps.map((name) => [name, undefined])) : Object.fromEntries(Object.entries(deps).map(([name, dep]) => [name, dep.condition]));
}

/** `name:/path[:ro]` volume entries as [source, target]. */
function mounts(service: Service): [string, string][] {
  return (service.volumes ?? []).map((entry) => entry.split(':').slice(0, 2) as [string, string]);
}

/** The Dockerfile's ENTRYPOINT (exec form), which hub services' `command` completes. */
function dockerEntrypoint(): string[] {
  const line = readFileSync(path.join(root, 'Dockerfile'), 'utf8').split('\n').find((l) => l.startsWith('ENTRYPOINT '));
  return JSON.parse(line!.slice('ENTRYPOINT '.length)) as string[];
}

/** The body of the `{ … }` block that follows `head` in an nginx configuration. */
function block(conf: string, head: RegExp): string {
  const match = head.exec(conf);
  if (match === null) throw new Error(`no ${String(head)} block`);
  let depth = 0;
  for (let i = conf.indexOf('{', match.index); i < conf.length; i++) {
    if (conf[i] === '{') depth++;
    if (conf[i] === '}' && --depth === 0) return conf.slice(conf.indexOf('{', match.index) + 1, i);
  }
  throw new Error(`unclosed ${String(head)} block`);
}

describe('docker-compose.yml', () => {
  const hubs = [services.hub1!, services.hub2!];
  const hubEnv = environmentOf(services.hub1!);
  const { config } = loadConfig({ env: hubEnv });

  it('references only configuration variables and the demo sites\' variables', () => {
    const referenced = new Set(text.match(/TESSERA_[A-Z0-9_]+/g));
    expect(referenced.size).toBeGreaterThan(10);
    expect([...referenced].filter((name) => !configVariables.has(name) && !demoVariables.has(name))).toEqual([]);
    for (const name of ['hub-init', 'hub1', 'hub2']) {
      expect(Object.keys(environmentOf(services[name]!)).filter((v) => v.startsWith('TESSERA_') && !configVariables.has(v))).toEqual([]);
    }
    expect(Object.keys(environmentOf(services['demo-sites']!)).filter((v) => !demoVariables.has(v))).toEqual([]);
  });

  it('runs two hub instances of the built image with one configuration that loads', () => {
    for (const hub of hubs) {
      expect(hub.build).toBe('.');
      expect([...dockerEntrypoint(), ...hub.command!]).toEqual(['node', 'dist/cli/main.js', 'serve']);
      expect(environmentOf(hub)).toEqual(hubEnv);
    }
    expect(environmentOf(services['hub-init']!)).toEqual(hubEnv);
    expect(config.listen.host).toBe('0.0.0.0');
    expect(config.trustProxy).toBe(true);
    expect(config.publicUrl).toBe('https://hub.tessera.localhost:8443');
  });

  it('puts both hubs on the same Redis (append-only), PostgreSQL and keys volume', () => {
    expect(config.store.url).toBe('redis://redis:6379');
    expect(services.redis!.image).toMatch(/^redis:7(\b|$)/);
    expect(services.redis!.command?.join(' ')).toContain('--appendonly yes');

    const database = new URL(config.database.url!);
    const postgres = environmentOf(services.postgres!);
    expect(database.host).toBe('postgres:5432');
    expect([database.username, database.password, database.pathname]).toEqual([postgres.POSTGRES_USER, postgres.POSTGRES_PASSWORD, `/${postgres.POSTGRES_DB}`]);
    expect(services.postgres!.image).toMatch(/^postgres:\d+/);

    for (const hub of hubs) {
      expect(mounts(hub)).toContainEqual(['keys', config.keys.dir]);
      expect(dependsOn(hub)).toMatchObject({ redis: 'service_healthy', postgres: 'service_healthy', 'hub-init': 'service_completed_successfully' });
    }
    expect(mounts(services['hub-init']!)).toContainEqual(['keys', config.keys.dir]);
    expect(services['hub-init']!.command!.join(' ')).toMatch(/keys list[\s\S]*users add --email demo@tessera\.localhost/);
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['keys', 'redis-data', 'postgres-data', 'demo-data']));
  });

  it('sends mail to the mail catcher', () => {
    expect(config.mail.transport).toBe('smtp');
    expect(config.mail.smtp.host).toBe('mailpit');
    expect(services.mailpit!.image).toMatch(/^axllent\/mailpit(:|$)/);
    // Mailpit's SMTP port, without TLS on the compose network.
    expect([config.mail.smtp.port, config.mail.smtp.requireTls]).toEqual([1025, false]);
  });

  it('lists exactly the demo sites, with the hashes of the demo sites\' own credentials', () => {
    const demo = demoSitesOptionsFromEnv(environmentOf(services['demo-sites']!));
    const origins = { shop: 'https://shop.localhost:8444', news: 'https://news.localhost:8445', blog: 'https://blog.localhost:8446' };
    const sha256 = (value: string | undefined) => createHash('sha256').update(value ?? '').digest('hex');
    expect(JSON.parse(hubEnv.TESSERA_SITES!)).toEqual(demoSiteConfig(origins, { shop: sha256(demo.credentials?.shop), news: sha256(demo.credentials?.news) }));
    expect(config.sites.map((site) => site.origin)).toEqual(Object.values(origins));
    expect(demo.hubUrl).toBe(config.publicUrl);
    expect([demo.ports?.shop, demo.ports?.news, demo.ports?.blog]).toEqual([8444, 8445, 8446]);
    expect(services['demo-sites']!.ports).toEqual(['127.0.0.1:8444:8444', '127.0.0.1:8445:8445']);
    // The hubs POST back-channel logouts to shop.localhost and news.localhost: the demo sites' names on the network.
    expect(services['demo-sites']!.networks?.default?.aliases).toEqual(expect.arrayContaining(['shop.localhost', 'news.localhost']));
    // The sites' requests to *.localhost go to the proxy, which answers as the hub and as the blog.
    expect(demo.hubAddress).toBe('proxy');
    expect(services.proxy!.networks?.default?.aliases).toEqual(expect.arrayContaining(['hub.tessera.localhost', 'blog.localhost']));
  });

  describe('the proxy', () => {
    const proxy = services.proxy!;
    const env = environmentOf(proxy);
    const [template] = mounts(proxy).filter(([, target]) => target.startsWith('/etc/nginx/templates/'));
    const rendered = renderProxyConfig(readFileSync(path.join(root, template![0]), 'utf8'), env);

    it('is nginx rendering deploy/nginx/tessera.conf.template with a value for every placeholder', () => {
      expect(proxy.image).toMatch(/^nginx:/);
      expect(template).toEqual(['./deploy/nginx/tessera.conf.template', '/etc/nginx/templates/tessera.conf.template']);
      expect(rendered).not.toMatch(/\$\{PROXY_/);
      expect(env.NGINX_ENVSUBST_FILTER).toBe('^PROXY_');
    });

    it('balances the hub origin over both instances, with Host kept', () => {
      const upstream = block(rendered, /upstream tessera_hubs\s*/);
      const servers = [...upstream.matchAll(/^\s*server\s+(\S+?)[\s;]/gm)].map((m) => m[1]);
      expect(servers).toEqual([`hub1:${hubEnv.TESSERA_PORT}`, `hub2:${hubEnv.TESSERA_PORT}`]);
      const hubServer = block(rendered, new RegExp(`server\\s*\\{\\s*listen ${env.PROXY_HUB_PORT} ssl;\\s*server_name hub\\.tessera\\.localhost;`));
      const location = block(hubServer, /location \/ /);
      expect(location).toContain('proxy_pass http://tessera_hubs;');
      expect(location).toContain('proxy_set_header Host $http_host;');
      expect(location).toContain('proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;');
      expect(new URL(config.publicUrl).port).toBe(env.PROXY_HUB_PORT);
      expect(proxy.ports).toContain(`127.0.0.1:${env.PROXY_HUB_PORT}:${env.PROXY_HUB_PORT}`);
      expect(dependsOn(proxy)).toMatchObject({ hub1: 'service_healthy', hub2: 'service_healthy' });
    });

    it("routes the blog's /shared-session/ to the hubs and the rest to the blog's app", () => {
      const blogServer = block(rendered, new RegExp(`server\\s*\\{\\s*listen ${env.PROXY_BLOG_PORT} ssl;\\s*server_name blog\\.localhost;`));
      const receiver = block(blogServer, /location \/shared-session\/ /);
      expect(receiver).toContain('proxy_pass http://tessera_hubs;');
      expect(receiver).toContain('proxy_set_header Host $http_host;');
      expect(config.sites.find((site) => site.origin === `https://blog.localhost:${env.PROXY_BLOG_PORT}`)?.receiverPath).toBe('/shared-session/');
      expect(block(blogServer, /location \/ /)).toContain('proxy_pass https://demo_blog_app;');
      expect(block(rendered, /upstream demo_blog_app\s*/)).toContain(`server demo-sites:${environmentOf(services['demo-sites']!).TESSERA_DEMO_BLOG_APP_PORT};`);
      expect(proxy.ports).toContain(`127.0.0.1:${env.PROXY_BLOG_PORT}:${env.PROXY_BLOG_PORT}`);
    });

    it('serves the certificate the demo sites generate, which the hubs trust', () => {
      // demo-sites writes <TESSERA_DEMO_DATA_DIR>/demo-tls into the demo-data volume; the proxy and the hubs mount it at /demo.
      expect(mounts(services['demo-sites']!)).toContainEqual(['demo-data', environmentOf(services['demo-sites']!).TESSERA_DEMO_DATA_DIR]);
      expect(mounts(proxy)).toContainEqual(['demo-data', '/demo']);
      expect(env.PROXY_TLS_DIR).toBe('/demo/demo-tls');
      for (const hub of hubs) expect(mounts(hub)).toContainEqual(['demo-data', '/demo']);
      expect(hubEnv.NODE_EXTRA_CA_CERTS).toBe('/demo/demo-tls/ca.pem');
    });
  });
});
