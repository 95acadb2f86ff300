/**
 * Issue 7: the docker-compose topology as local processes (`node dist/demo/topology.js`) —
 * its own redis-server, a schema of the shared PostgreSQL, two hub instances, nginx with
 * deploy/nginx/tessera.conf.template, and the demo sites. A sign-in through the proxy is
 * served by both instances (told apart by the request id nginx sets and each hub logs), the
 * blog's `/shared-session/` reaches the hubs while its pages reach its own app, and Ctrl-C
 * stops every process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoAgent } from '../../src/demo/loopback';
import { DEMO_USER } from '../../src/demo/start';
import { createPool } from '../../src/stores/postgres/database';
import { freePort } from '../support/own-servers';
import { databaseUrl } from '../support/services';
import { eventually } from './support';

const scriptPath = join(__dirname, '..', '..', 'dist', 'demo', 'topology.js');
const nginxPath = '/usr/sbin/nginx';

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => existsSync(join(dir, name)));
}

const missing = !existsSync(nginxPath) ? `no nginx at ${nginxPath}` : !onPath('redis-server') ? 'no redis-server on PATH' : process.env.TESSERA_TEST_POSTGRES_UP !== '1' ? 'no PostgreSQL' : null;
if (missing !== null && process.env.CI !== 'true') process.stderr.write(`SKIPPED: local topology suite — ${missing}\n`);
const describeTopology = missing === null || process.env.CI === 'true' ? describe : describe.skip;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** HTTPS with the demo's agent (trusts its CA, `*.localhost` → 127.0.0.1) and a cookie jar per origin. */
class DemoBrowser {
  private readonly jar = new Map<string, Map<string, string>>();
  constructor(private readonly agent: https.Agent) {}

  request(method: string, url: string, options: { form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Answer> {
    const target = new URL(url);
    const cookies = this.jar.get(target.host) ?? new Map<string, string>();
    const headers: Record<string, string> = { ...options.headers };
    if (cookies.size > 0) headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const body = options.form === undefined ? undefined : new URLSearchParams(options.form).toString();
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    return new Promise((resolve, reject) => {
      const req = https.request(target, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          for (const line of res.headers['set-cookie'] ?? []) {
            const [pair = ''] = line.split(';');
            const eq = pair.indexOf('=');
            const value = pair.slice(eq + 1);
            if (value === '' || /max-age=0/i.test(line)) cookies.delete(pair.slice(0, eq));
            else cookies.set(pair.slice(0, eq), value);
          }
          this.jar.set(target.host, cookies);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describeTopology('the distributed topology as local processes (node dist/demo/topology.js)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-topology-'));
  const schema = `test_topology_${randomBytes(6).toString('hex')}`;
  const lines: string[] = [];
  let script: ChildProcess | null = null;
  let exited: Promise<number | null> = Promise.resolve(null);

  afterAll(async () => {
    if (script !== null && script.exitCode === null && script.signalCode === null) {
      script.kill('SIGINT');
      await exited;
    }
    const admin = createPool(databaseUrl);
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('serves a sign-in through nginx from both hub instances, routes the blog, and stops everything on Ctrl-C', async () => {
    // nginx's workers run unprivileged when the test runs as root: they must reach the run directory.
    chmodSync(dir, 0o755);
    const ports = { hub: 0, shop: 0, news: 0, blog: 0, blogApp: 0, hub1: 0, hub2: 0, redis: 0 };
    for (const name of Object.keys(ports) as (keyof typeof ports)[]) ports[name] = await freePort();
    const database = new URL(databaseUrl);
    database.searchParams.set('schema', schema);
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TESSERA_'))) as Record<string, string>;
    script = spawn(process.execPath, [scriptPath], {
      env: {
        ...base,
        TESSERA_DEMO_DATA_DIR: dir,
        TESSERA_DEMO_HUB_PORT: String(ports.hub),
        TESSERA_DEMO_SHOP_PORT: String(ports.shop),
        TESSERA_DEMO_NEWS_PORT: String(ports.news),
        TESSERA_DEMO_BLOG_PORT: String(ports.blog),
        TESSERA_DEMO_BLOG_APP_PORT: String(ports.blogApp),
        TESSERA_TOPOLOGY_HUB1_PORT: String(ports.hub1),
        TESSERA_TOPOLOGY_HUB2_PORT: String(ports.hub2),
        TESSERA_TOPOLOGY_REDIS_PORT: String(ports.redis),
        TESSERA_DATABASE: database.toString(),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = script;
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let pending = '';
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the topology did not start within 60 s:\n${lines.join('\n')}`)), 60_000);
      const onData = (chunk: Buffer) => {
        const parts = (pending + chunk.toString()).split('\n');
        pending = parts.pop() ?? '';
        lines.push(...parts);
        if (parts.some((line) => line.includes('Ctrl-C stops everything'))) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the topology exited with ${String(code)}:\n${lines.join('\n')}`));
      });
    });
    await ready;
    /** `hub1` or `hub2`: whose request log line carries the answer's request id (lines arrive just after the answer). */
    const instanceThatServed = (answer: Answer): Promise<string> => {
      const id = String(answer.headers['x-request-id']);
      return eventually(() => lines.find((line) => /^\[hub[12]\] /.test(line) && line.includes(`"requestId":"${id}"`))?.slice(1, 5), 5000, `the hub log line of request ${id}`);
    };

    const hub = `https://hub.tessera.localhost:${ports.hub}`;
    const blog = `https://blog.localhost:${ports.blog}`;
    const browser = new DemoBrowser(demoAgent(readFileSync(join(dir, 'demo-tls', 'ca.pem'), 'utf8')));
    const answers: Answer[] = [];
    const page = await browser.request('GET', `${hub}/login`);
    answers.push(page);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const login = await browser.request('POST', `${hub}/login`, { form: { _csrf: csrf, email: DEMO_USER.email, password: DEMO_USER.password }, headers: { origin: hub, 'sec-fetch-site': 'same-origin' } });
    answers.push(login);
    expect(login.status).toBe(200);
    expect([login.headers['set-cookie'] ?? []].flat().some((line) => line.startsWith('__Host-tessera='))).toBe(true);
    for (let i = 0; i < 3; i++) {
      const account = await browser.request('GET', `${hub}/account`);
      expect(account.status).toBe(200);
      expect(account.body).toContain(DEMO_USER.email);
      answers.push(account);
    }

    // Which instance served each answer: the request id nginx set, in that hub's request log line.
    const servedBy = await Promise.all(answers.map((answer) => instanceThatServed(answer)));
    expect(new Set(servedBy)).toEqual(new Set(['hub1', 'hub2']));
    // nginx's own lines (its access log, followed every 200 ms) name the address of both instances.
    for (const port of [ports.hub1, ports.hub2]) {
      await eventually(() => (lines.some((line) => line.startsWith('[proxy]') && line.includes(`upstream=127.0.0.1:${port}`)) ? true : undefined), 5000, `a proxy line for 127.0.0.1:${port}`);
    }

    // The blog: /shared-session/ is the hub (its receiver headers, its request log), / is the blog's app.
    const receiver = await browser.request('GET', `${blog}/shared-session/session.json`, { headers: { accept: 'application/json' } });
    expect(receiver.status).toBe(401);
    expect(['hub1', 'hub2']).toContain(await instanceThatServed(receiver));
    const home = await browser.request('GET', `${blog}/`);
    expect(home.status).toBe(303);
    expect(home.headers.location).toMatch(/^\/shared-session\/start\?/);

    // Ctrl-C: everything stops, and nothing listens any more.
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const port of [ports.hub, ports.blog, ports.hub1, ports.hub2, ports.shop, ports.news, ports.blogApp, ports.redis]) {
      expect([port, await listening(port)]).toEqual([port, false]);
    }
  }, 120_000);
});
