/**
 * `node dist/demo/topology.js`: the topology of docker-compose.yml as local processes on
 * loopback, for machines without a Docker engine — Redis, PostgreSQL, two hub instances
 * (`tessera serve`) behind nginx with the same proxy configuration
 * (deploy/nginx/tessera.conf.template), and the demo sites (src/demo/standalone-sites.ts):
 *
 *   https://hub.tessera.localhost:8443   nginx → hub1 127.0.0.1:8081, hub2 127.0.0.1:8082
 *   https://shop.localhost:8444          destination SDK
 *   https://news.localhost:8445          destination SDK
 *   https://blog.localhost:8446          nginx: /shared-session/ → the hubs, / → the blog's app (8447)
 *
 * Redis is a redis-server of its own (port 6390, append-only file in the run directory) unless
 * TESSERA_STORE names one; PostgreSQL is the local server's database `tessera_topology` unless
 * TESSERA_DATABASE names another (the database, and a `?schema=`, are created when missing). Every process's output is printed with its
 * name in front; Ctrl-C (SIGINT) or SIGTERM stops them all. The demo user is created when
 * missing; mail goes to files under the run directory (compose has a mail catcher instead).
 * Site API credentials are new on every start, like `npm start`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { newSiteCredential } from '../cli/commands/sites';
import { loadConfig } from '../config/load';
import { systemClock } from '../core/clock';
import { createLogger } from '../log/logger';
import { openKeyring } from '../main';
import { createPool } from '../stores/postgres/database';
import { openStores } from '../stores/open';
import { DEMO_SERVERS, type DemoSiteName } from './sites';
import { DEMO_HOSTS, demoSiteConfig } from './standalone-sites';
import { DEMO_USER, ensureDemoUser } from './start';
import { ensureDemoTls } from './tls';
import { runUntilSignal } from './run-until-signal';

/** Variables this script reads besides TESSERA_STORE, TESSERA_STORE_PREFIX and TESSERA_DATABASE. */
export const TOPOLOGY_ENV = [
  'TESSERA_DEMO_HUB_PORT',
  'TESSERA_DEMO_SHOP_PORT',
  'TESSERA_DEMO_NEWS_PORT',
  'TESSERA_DEMO_BLOG_PORT',
  'TESSERA_DEMO_BLOG_APP_PORT',
  'TESSERA_DEMO_DATA_DIR',
  'TESSERA_TOPOLOGY_DIR',
  'TESSERA_TOPOLOGY_HUB1_PORT',
  'TESSERA_TOPOLOGY_HUB2_PORT',
  'TESSERA_TOPOLOGY_REDIS_PORT',
  'TESSERA_TOPOLOGY_NGINX',
] as const;

export interface TopologyOptions {
  /** Public ports: the hub (nginx), shop, news, blog (nginx); and where the blog's app, each hub instance and an own Redis listen. */
  ports: { hub: number; shop: number; news: number; blog: number; blogApp: number; hub1: number; hub2: number; redis: number };
  /** Where the demo certificates live (`<dataDir>/demo-tls`, shared with `npm start`). */
  dataDir: string;
  /** Run directory: keys, mail, nginx configuration, Redis data. */
  dir: string;
  /** A Redis URL to use instead of starting redis-server, and its key prefix. */
  store: { url: string; prefix: string } | null;
  /** PostgreSQL URL; null: database `tessera_topology` on 127.0.0.1:5432, created when missing. */
  database: string | null;
  nginx: string;
}

const defaultDatabase = 'postgres://postgres@127.0.0.1:5432/tessera_topology';
const cliPath = join(__dirname, '..', 'cli', 'main.js');
const sitesPath = join(__dirname, 'standalone-sites.js');
const templatePath = join(__dirname, '..', '..', 'deploy', 'nginx', 'tessera.conf.template');
/** How long each process may take to come up. */
const startTimeoutMs = 30_000;
/** How long each process may take to stop after SIGTERM before it is killed. */
const stopTimeoutMs = 5_000;

/** Options from the environment (see {@link TOPOLOGY_ENV}); defaults as in the header comment. */
export function topologyOptionsFromEnv(env: NodeJS.ProcessEnv): TopologyOptions {
  const port = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${name} must be a port number (1–65535), not ${JSON.stringify(raw)}`);
    return value;
  };
  const dataDir = resolve(env.TESSERA_DEMO_DATA_DIR || 'data');
  const store = env.TESSERA_STORE || null;
  return {
    ports: {
      hub: port('TESSERA_DEMO_HUB_PORT', DEMO_SERVERS.hub.port),
      shop: port('TESSERA_DEMO_SHOP_PORT', DEMO_SERVERS.shop.port),
      news: port('TESSERA_DEMO_NEWS_PORT', DEMO_SERVERS.news.port),
      blog: port('TESSERA_DEMO_BLOG_PORT', DEMO_SERVERS.blog.port),
      blogApp: port('TESSERA_DEMO_BLOG_APP_PORT', 8447),
      hub1: port('TESSERA_TOPOLOGY_HUB1_PORT', 8081),
      hub2: port('TESSERA_TOPOLOGY_HUB2_PORT', 8082),
      redis: port('TESSERA_TOPOLOGY_REDIS_PORT', 6390),
    },
    dataDir,
    dir: resolve(env.TESSERA_TOPOLOGY_DIR || join(dataDir, 'topology')),
    store: store === null ? null : { url: store, prefix: env.TESSERA_STORE_PREFIX || 'tessera:' },
    database: env.TESSERA_DATABASE || null,
    nginx: env.TESSERA_TOPOLOGY_NGINX || '/usr/sbin/nginx',
  };
}

/**
 * The nginx template with every `${PROXY_*}` replaced, as the nginx image's envsubst step does;
 * a placeholder without a value is an error rather than an empty string.
 */
export function renderProxyConfig(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{(PROXY_[A-Z0-9_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for \${${name}} in the proxy template`);
    return value;
  });
}

interface Managed {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Resolves with the first output line that `match` accepts. */
  waitForLine(match: (line: string) => boolean, what: string): Promise<string>;
}

export interface RunningTopology {
  urls: { hub: string; shop: string; news: string; blog: string };
  /** Every process this run started, by name. */
  processes: ReadonlyMap<string, ChildProcess>;
  /** Resolves with the name of the first process that exits on its own. */
  unexpectedExit: Promise<string>;
  stop(): Promise<void>;
}

/** Environment without any TESSERA_* of the caller's: each process gets exactly its own. */
function cleanEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter(([name, value]) => !name.startsWith('TESSERA_') && value !== undefined)) as Record<string, string>;
}

/**
 * Starts everything; `out` receives every output line, prefixed with its process's name.
 * Rejects (after stopping what it started) when a process fails to come up.
 */
export async function startTopology(options: TopologyOptions, out: (line: string) => void): Promise<RunningTopology> {
  const { ports, dir } = options;
  const managed: Managed[] = [];
  let stopping = false;
  let reportExit: (name: string) => void = () => undefined;
  const unexpectedExit = new Promise<string>((resolveExit) => (reportExit = resolveExit));

  const start = (name: string, command: string, args: string[], env: Record<string, string>): Managed => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const listeners: Array<(line: string) => void> = [];
    const exited = new Promise<number | null>((resolveExit) => {
      child.once('error', (err) => {
        out(`[${name}] cannot start ${command}: ${err.message}`);
        resolveExit(null);
      });
      child.once('exit', (code) => resolveExit(code));
    });
    void exited.then((code) => {
      if (!stopping) {
        out(`[${name}] exited with ${String(code)}`);
        reportExit(name);
      }
    });
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream.on('data', (chunk: Buffer) => {
        const lines = (pending + chunk.toString()).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          out(`[${name}] ${line}`);
          for (const listener of listeners) listener(line);
        }
      });
    }
    const entry: Managed = {
      name,
      child,
      exited,
      waitForLine: (match, what) =>
        new Promise((resolveLine, reject) => {
          const timer = setTimeout(() => reject(new Error(`${name}: no "${what}" within ${startTimeoutMs} ms`)), startTimeoutMs);
          listeners.push((line) => {
            if (!match(line)) return;
            clearTimeout(timer);
            resolveLine(line);
          });
          void exited.then((code) => {
            clearTimeout(timer);
            reject(new Error(`${name} exited with ${String(code)} before "${what}"`));
          });
        }),
    };
    managed.push(entry);
    return entry;
  };

  let stopFollowing = (): void => undefined;
  const stop = async (): Promise<void> => {
    stopping = true;
    // Front to back: the proxy first, so nothing new reaches the hubs while they drain.
    for (const entry of [...managed].reverse()) {
      if (entry.child.exitCode === null && entry.child.signalCode === null) entry.child.kill('SIGTERM');
      const timer = setTimeout(() => entry.child.kill('SIGKILL'), stopTimeoutMs);
      await entry.exited;
      clearTimeout(timer);
    }
    stopFollowing();
  };

  try {
    mkdirSync(dir, { recursive: true });
    // nginx's workers run as an unprivileged user when it starts as root: they must reach their temp directories.
    chmodSync(dir, 0o755);
    const tls = await ensureDemoTls(join(options.dataDir, 'demo-tls'), DEMO_HOSTS);
    const host = (name: 'hub' | DemoSiteName, port: number): string => `https://${DEMO_SERVERS[name].host}:${port}`;
    const urls = { hub: host('hub', ports.hub), shop: host('shop', ports.shop), news: host('news', ports.news), blog: host('blog', ports.blog) };

    // Redis: the given one, or a redis-server of this run with an append-only file.
    let store = options.store;
    if (store === null) {
      const redisDir = join(dir, 'redis');
      mkdirSync(redisDir, { recursive: true });
      const redis = start('redis', 'redis-server', ['--port', String(ports.redis), '--bind', '127.0.0.1', '--dir', redisDir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no'], cleanEnv());
      await redis.waitForLine((line) => line.includes('Ready to accept connections'), 'Ready to accept connections');
      store = { url: `redis://127.0.0.1:${ports.redis}`, prefix: 'tessera:' };
    }
    const database = await ensureDatabase(options.database ?? defaultDatabase);

    // The SDK sites' credentials, new for this run; the hubs keep only their SHA-256.
    const credentials = { shop: newSiteCredential(), news: newSiteCredential() };
    // The hubs POST back-channel logouts from Node, whose resolver does not know *.localhost:
    // the SDK sites' endpoints are addressed by IP (their certificate names 127.0.0.1 too).
    const sites = demoSiteConfig(urls, { shop: credentials.shop.credentialHash, news: credentials.news.credentialHash }, { shop: `https://127.0.0.1:${ports.shop}`, news: `https://127.0.0.1:${ports.news}` });
    const hubEnv: Record<string, string> = {
      TESSERA_ENV: 'development',
      TESSERA_PUBLIC_URL: urls.hub,
      TESSERA_HOST: '127.0.0.1',
      TESSERA_TRUST_PROXY: 'true',
      TESSERA_STORE: store.url,
      TESSERA_STORE_PREFIX: store.prefix,
      TESSERA_DATABASE: database,
      TESSERA_KEYS_DIR: join(dir, 'keys'),
      TESSERA_MAIL_TRANSPORT: 'file',
      TESSERA_MAIL_DIR: join(dir, 'mail'),
      TESSERA_MAIL_FROM: 'login@hub.tessera.localhost',
      TESSERA_SITES: JSON.stringify(sites),
    };

    // What an init job does before the instances start: migrations, the first key, the demo user.
    const { config } = loadConfig({ env: hubEnv });
    const logger = createLogger({ level: 'warn' });
    await openKeyring(config, systemClock, logger);
    const stores = await openStores(config, systemClock, logger);
    try {
      await ensureDemoUser(stores, logger, { email: DEMO_USER.email, name: DEMO_USER.name, roles: [] });
    } finally {
      await stores.close();
    }

    const hubs = (['hub1', 'hub2'] as const).map((name) =>
      start(name, process.execPath, [cliPath, 'serve'], { ...cleanEnv(), ...hubEnv, TESSERA_PORT: String(ports[name]), NODE_EXTRA_CA_CERTS: join(tls.dir, 'ca.pem') }),
    );
    const demoSites = start('sites', process.execPath, [sitesPath], {
      ...cleanEnv(),
      TESSERA_DEMO_HUB_URL: urls.hub,
      TESSERA_DEMO_DATA_DIR: options.dataDir,
      TESSERA_DEMO_SHOP_PORT: String(ports.shop),
      TESSERA_DEMO_NEWS_PORT: String(ports.news),
      TESSERA_DEMO_BLOG_PORT: String(ports.blog),
      TESSERA_DEMO_BLOG_APP_PORT: String(ports.blogApp),
      TESSERA_DEMO_SHOP_CREDENTIAL: credentials.shop.credential,
      TESSERA_DEMO_NEWS_CREDENTIAL: credentials.news.credential,
    });
    await Promise.all([...hubs.map((hub) => hub.waitForLine((line) => line.includes('"hub listening"'), 'hub listening')), demoSites.waitForLine((line) => line.includes('"demo sites listening"'), 'demo sites listening')]);

    const nginxDir = join(dir, 'nginx');
    mkdirSync(join(nginxDir, 'temp'), { recursive: true });
    chmodSync(nginxDir, 0o755);
    const accessLog = join(nginxDir, 'access.log');
    writeFileSync(accessLog, '');
    stopFollowing = follow(accessLog, (line) => out(`[proxy] ${line}`));
    writeFileSync(
      join(nginxDir, 'tessera.conf'),
      renderProxyConfig(readFileSync(templatePath, 'utf8'), {
        PROXY_HUB1: `127.0.0.1:${ports.hub1}`,
        PROXY_HUB2: `127.0.0.1:${ports.hub2}`,
        PROXY_BLOG_APP: `127.0.0.1:${ports.blogApp}`,
        PROXY_HUB_PORT: String(ports.hub),
        PROXY_BLOG_PORT: String(ports.blog),
        PROXY_TLS_DIR: tls.dir,
        // Not /dev/stdout: a child's standard output here is a socket, which nginx cannot open.
        PROXY_ACCESS_LOG: accessLog,
      }),
    );
    writeFileSync(join(nginxDir, 'nginx.conf'), nginxMainConfig(nginxDir));
    if (!existsSync(options.nginx)) throw new Error(`no nginx at ${options.nginx} (apt-get install nginx, or set TESSERA_TOPOLOGY_NGINX)`);
    start('proxy', options.nginx, ['-p', `${nginxDir}/`, '-c', join(nginxDir, 'nginx.conf'), '-e', 'stderr'], cleanEnv());
    await Promise.all([ports.hub, ports.blog].map((port) => waitForPort(port)));

    return { urls, processes: new Map(managed.map((entry) => [entry.name, entry.child])), unexpectedExit, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The main configuration around the shared template: foreground, files in the run directory. */
function nginxMainConfig(nginxDir: string): string {
  const temp = (name: string) => join(nginxDir, 'temp', name);
  return `# Generated by src/demo/topology.ts on every start.
daemon off;
worker_processes 1;
pid ${join(nginxDir, 'nginx.pid')};
error_log stderr notice;
events { worker_connections 512; }
http {
    client_body_temp_path ${temp('body')};
    proxy_temp_path ${temp('proxy')};
    fastcgi_temp_path ${temp('fastcgi')};
    uwsgi_temp_path ${temp('uwsgi')};
    scgi_temp_path ${temp('scgi')};
    include ${join(nginxDir, 'tessera.conf')};
}
`;
}

/**
 * Creates the database of `url` on its server, and the schema of its `?schema=` parameter, when
 * they do not exist yet; resolves with `url`.
 */
async function ensureDatabase(url: string): Promise<string> {
  const identifier = /^[a-z_][a-z0-9_]{0,62}$/;
  const parsed = new URL(url);
  const name = decodeURIComponent(parsed.pathname.slice(1));
  const schema = parsed.searchParams.get('schema');
  if (!identifier.test(name)) throw new Error(`database name "${name}" must be a lower-case identifier`);
  if (schema !== null && !identifier.test(schema)) throw new Error(`schema "${schema}" must be a lower-case identifier`);
  const server = new URL(parsed);
  server.pathname = '/postgres';
  server.search = '';
  const admin = createPool(server.toString());
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  if (schema !== null) {
    server.pathname = `/${name}`;
    const pool = createPool(server.toString());
    try {
      await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await pool.end();
    }
  }
  return url;
}

/** Calls `onLine` with every line appended to `file` (polled; the file starts empty). Returns a stop function. */
function follow(file: string, onLine: (line: string) => void): () => void {
  let offset = 0;
  let pending = '';
  const read = (): void => {
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(64 * 1024);
      for (let n = readSync(fd, buffer, 0, buffer.length, offset); n > 0; n = readSync(fd, buffer, 0, buffer.length, offset)) {
        offset += n;
        const lines = (pending + buffer.subarray(0, n).toString('utf8')).split('\n');
        pending = lines.pop() ?? '';
        lines.forEach(onLine);
      }
    } finally {
      closeSync(fd);
    }
  };
  const timer = setInterval(read, 200);
  return () => {
    clearInterval(timer);
    read();
  };
}

function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  return new Promise((resolveWait, reject) => {
    const attempt = () => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolveWait();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on 127.0.0.1:${port} after ${startTimeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/** What to open, for the person who started the topology. */
export function topologyBanner(topology: RunningTopology, options: TopologyOptions): string {
  const line = (label: string, url: string, note: string): string => `  ${label.padEnd(5)} ${url.padEnd(42)} ${note}`;
  return [
    '',
    'Tessera, distributed: two hub instances behind nginx, on Redis and PostgreSQL.',
    '',
    line('hub', `${topology.urls.hub}/login`, `nginx → hub1 127.0.0.1:${options.ports.hub1}, hub2 127.0.0.1:${options.ports.hub2}`),
    line('shop', `${topology.urls.shop}/`, 'destination SDK'),
    line('news', `${topology.urls.news}/`, 'destination SDK'),
    line('blog', `${topology.urls.blog}/`, 'hub as receiver: nginx routes /shared-session/ to the hubs'),
    '',
    `  Sign in as ${DEMO_USER.email} with the password ${DEMO_USER.password}. Mail is written to ${join(options.dir, 'mail')}.`,
    `  Trust ${join(options.dataDir, 'demo-tls', 'ca.pem')} in the browser, or use a throw-away profile:`,
    `    chromium --user-data-dir="$(mktemp -d)" --ignore-certificate-errors ${topology.urls.hub}/login`,
    '  Every line below starts with its process: [hub1] [hub2] [sites] [proxy] [redis];',
    '  the proxy\'s lines name the instance that answered (upstream=) and the requestId the hub logged.',
    '  Ctrl-C stops everything.',
    '',
  ].join('\n');
}

runUntilSignal(module, 'topology', async (control) => {
  const options = topologyOptionsFromEnv(process.env);
  const write = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const topology = await startTopology(options, write);
  write(topologyBanner(topology, options));
  void topology.unexpectedExit.then((name) => {
    write(`${name} stopped on its own: stopping everything`);
    control.shutdown(1);
  });
  return topology;
});
