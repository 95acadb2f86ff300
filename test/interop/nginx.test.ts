/**
 * The nginx guide (docs/integrations/nginx.md) proven with Debian's nginx: the example
 * configuration (examples/nginx/tessera-sites.conf, ports and certificate paths substituted) in
 * front of the real hub, configured by examples/nginx/tessera.yaml, and a tiny site application.
 * A beacon token fetched through nginx on the site's host reaches the hub with Host kept and sets
 * the site's cookie; that cookie then works through nginx; every other path reaches the site's
 * application; the hub sees the client address nginx appended, not one the client made up.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { loadConfig } from '../../src/config/load';
import { FrozenClock, nowSeconds } from '../../src/core/clock';
import { createSessionRecord } from '../../src/core/sessions/session';
import { hashSecret, parseCookieValue } from '../../src/core/sessions/session';
import { mintHandoff } from '../../src/core/tokens/handoff';
import { startTestHub, type TestHub } from '../support/hub';
import { describeWithNginx, nginxBinary, requireNginx } from '../support/nginx';

const root = join(__dirname, '..', '..');
const exampleConf = readFileSync(join(root, 'examples', 'nginx', 'tessera-sites.conf'), 'utf8');
const SITE = 'https://www.example.org';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTPS request to nginx on 127.0.0.1:`port` for `host` (SNI and Host), certificate not checked (a test certificate). */
function request(port: number, host: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, servername: host, path, headers: { host, ...headers }, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once something accepts connections on the port; rejects when nginx exits first or after 10 s. */
async function listening(port: number, nginx: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited with ${nginx.exitCode}:\n${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `text` with `from` replaced, after checking it occurs exactly `times` times (so the example cannot drift away from the test unnoticed). */
function substitute(text: string, from: string | RegExp, to: string, times: number): string {
  const pattern = typeof from === 'string' ? new RegExp(from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g') : new RegExp(from.source, 'g');
  const found = text.match(pattern)?.length ?? 0;
  if (found !== times) throw new Error(`examples/nginx/tessera-sites.conf: expected ${times} × ${String(from)}, found ${found}`);
  return text.replace(pattern, to);
}

const describeWithProxy = describeWithNginx('nginx interop suite');

describeWithProxy('nginx in front of the hub (examples/nginx/)', () => {
  let dir: string;
  let hub: TestHub;
  let app: http.Server;
  let nginx: ChildProcess;
  let nginxOutput = '';
  let port: number;
  const appSaw: Array<{ path: string; headers: http.IncomingHttpHeaders }> = [];

  beforeAll(async () => {
    if (process.env.CI === 'true') requireNginx();
    dir = mkdtempSync(join(tmpdir(), 'tessera-nginx-'));
    // nginx's workers drop root to `nobody` and must still reach their temp paths in here.
    chmodSync(dir, 0o755);

    const { config } = loadConfig({ file: join(root, 'examples', 'nginx', 'tessera.yaml'), env: { TESSERA_STORE: 'memory:', TESSERA_LOG_LEVEL: 'silent' } });
    hub = await startTestHub({ config, clock: new FrozenClock(Date.now()) });
    app = http.createServer((req, res) => {
      appSaw.push({ path: req.url ?? '', headers: req.headers });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ app: 'www', path: req.url }));
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));

    const pems = await generate([{ name: 'commonName', value: 'www.example.org' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'www.example.org' }, { type: 2, value: 'login.example.com' }] }],
    });
    writeFileSync(join(dir, 'cert.pem'), pems.cert);
    writeFileSync(join(dir, 'key.pem'), pems.private, { mode: 0o600 });

    port = await freePort();
    let conf = exampleConf;
    conf = substitute(conf, 'listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`, 2);
    conf = substitute(conf, /\/etc\/ssl\/[a-z.]+\/fullchain\.pem/, join(dir, 'cert.pem'), 2);
    conf = substitute(conf, /\/etc\/ssl\/[a-z.]+\/privkey\.pem/, join(dir, 'key.pem'), 2);
    conf = substitute(conf, 'server 127.0.0.1:8080;', `server ${new URL(hub.url).host};`, 1);
    conf = substitute(conf, 'server 127.0.0.1:3000;', `server 127.0.0.1:${(app.address() as AddressInfo).port};`, 1);
    writeFileSync(join(dir, 'sites.conf'), conf);
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        'daemon off;',
        'worker_processes 1;',
        `pid ${join(dir, 'nginx.pid')};`,
        'error_log stderr warn;',
        'events { worker_connections 64; }',
        'http {',
        `  access_log ${join(dir, 'access.log')};`,
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, kind)};`),
        `  include ${join(dir, 'sites.conf')};`,
        '}',
        '',
      ].join('\n'),
    );
    nginx = spawn(nginxBinary, ['-p', dir, '-e', 'stderr', '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    nginx.stdout?.on('data', (chunk: Buffer) => (nginxOutput += chunk.toString()));
    nginx.stderr?.on('data', (chunk: Buffer) => (nginxOutput += chunk.toString()));
    await listening(port, nginx, () => nginxOutput);
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx.once('exit', resolve));
      nginx.kill('SIGTERM');
      await exited;
    }
    if (app) await new Promise<void>((resolve) => app.close(() => resolve()));
    await hub?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a beacon on the site host goes to the hub with Host kept and sets the site cookie; the cookie then works through nginx', async () => {
    const user = await hub.deps.users.create({ email: 'ada@example.org', name: 'Ada', roles: [] });
    const { record } = createSessionRecord({ userId: user.id, ip: null, userAgent: null, now: nowSeconds(hub.clock) }, hub.deps.config.sessions);
    await hub.deps.sessions.create(record);
    const token = mintHandoff(hub.deps.keyring, { audience: SITE, sid: record.sid, sub: user.id, src: 'login.example.com', identity: { email: user.email, name: 'Ada' } }, { clock: hub.clock, issuer: 'https://login.example.com' });

    const beacon = await request(port, 'www.example.org', `/shared-session/${token}.js`, { referer: 'https://login.example.com/' });
    expect(beacon.status).toBe(200);
    expect(beacon.headers['content-type']).toBe('application/javascript; charset=utf-8');
    const setCookie = beacon.headers['set-cookie'] ?? [];
    expect(setCookie).toHaveLength(1);
    expect(setCookie[0]).toMatch(/^tessera_session=[^;]+; Path=\/; HttpOnly; Secure; SameSite=None$/);
    const cookieValue = /^tessera_session=([^;]+)/.exec(setCookie[0]!)![1]!;
    const cookie = parseCookieValue(cookieValue)!;
    expect(cookie.sid).toBe(record.sid);
    const link = (await hub.deps.sessions.get(record.sid))!.sites.find((l) => l.site === SITE);
    expect(link?.secretHash).toBe(hashSecret(cookie.secret));
    expect(appSaw.filter((seen) => seen.path.startsWith('/shared-session/'))).toEqual([]);

    const who = await request(port, 'www.example.org', '/shared-session/session.json', { cookie: `tessera_session=${cookieValue}` });
    expect(who.status).toBe(200);
    expect(JSON.parse(who.body)).toMatchObject({ sid: record.sid, sub: user.id, email: 'ada@example.org', name: 'Ada', src: 'login.example.com' });
  });

  it("the hub sees the client address nginx appended, not the client's own X-Forwarded-* claims", async () => {
    const user = await hub.deps.users.create({ email: 'grace@example.org', name: null, roles: [] });
    const { record } = createSessionRecord({ userId: user.id, ip: null, userAgent: null, now: nowSeconds(hub.clock) }, hub.deps.config.sessions);
    await hub.deps.sessions.create(record);
    const token = mintHandoff(hub.deps.keyring, { audience: SITE, sid: record.sid, sub: user.id, src: 'login.example.com' }, { clock: hub.clock, issuer: 'https://login.example.com' });
    const beacon = await request(port, 'www.example.org', `/shared-session/${token}.js`, {
      referer: 'https://login.example.com/',
      'x-forwarded-for': '203.0.113.66',
      'x-forwarded-host': 'evil.example',
    });
    expect(beacon.status).toBe(200);
    const events = await hub.deps.audit.query({ type: 'handoff.accepted', sid: record.sid }, { limit: 10 });
    expect(events.items.map((event) => event.ip)).toEqual(['127.0.0.1']);
  });

  it('every other path of the site reaches its own application, with the forwarding headers', async () => {
    const page = await request(port, 'www.example.org', '/basket?x=1', { 'x-forwarded-for': '203.0.113.66' });
    expect(page.status).toBe(200);
    expect(JSON.parse(page.body)).toEqual({ app: 'www', path: '/basket?x=1' });
    const seen = appSaw.find((entry) => entry.path === '/basket?x=1')!;
    expect(seen.headers.host).toBe('www.example.org');
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.66, 127.0.0.1');
    // The site's pages are logged; its receiver paths, which carry tokens, are not.
    const accessLog = readFileSync(join(dir, 'access.log'), 'utf8');
    expect(accessLog).toContain('GET /basket?x=1 ');
    expect(accessLog).not.toContain('/shared-session/');
  });

  it("the hub's own host goes to the hub", async () => {
    const jwks = await request(port, 'login.example.com', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.headers['content-type']).toMatch(/^application\/jwk-set\+json/);
    expect((JSON.parse(jwks.body) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
    expect(appSaw.some((entry) => entry.path.startsWith('/.well-known/'))).toBe(false);
  });
});
