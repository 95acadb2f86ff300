// Revocation reaching the sites: the time from revokeSession at the hub to the moment the last
// of three destination-SDK sites refuses the session, over many trials, every site up.
//
// Target (issue "Revocation", benchmark section): p99 <= 1 s.
//
// Everything is real and runs in this process on loopback over HTTPS (one self-signed
// certificate for 127.0.0.1), built as src/main.ts and the demo build it, from dist/:
//   hub    createHub over hubDeps, stores from openStores over one SQLite file (sessions, users,
//          the outbox: the embedded default), keys from openKeyring; its outbox worker from
//          createDeliveryWorker (the hub's default 500 ms poll; a revocation kicks it), started
//          by startMaintenance, sending over node:https (agentFetch, keep-alive) to trust the
//          certificate.
//   sites  three Koa apps on the SDK (createDestination, memory stores, a cookie of their own
//          each), with a site credential (they report their links to the hub) and a
//          back-channel logout URI; they verify logout tokens through the hub's JWKS.
// Each trial: a user and a hub session stored directly; a browser (a cookie-keeping HTTPS
// client) takes it on each site by a beacon carrying a token from the hub's own mintForSite;
// wait until the hub has recorded the three site links (the SDK reports them); then
// revokeSession(…, 'admin'). The clock starts just before that call and stops for each site when
// its SDK has ended the local session (its "back-channel logout: local sessions ended" log line,
// written after the session is destroyed and the sid remembered as ended); a trial's figure is
// the last of the three. Every site's /whoami must then answer anonymous for the browser, or the
// benchmark fails. So the figure holds the outbox write, the store's delete, the worker's claim,
// three logout tokens minted, three HTTPS POSTs, the SDK's verification and session destruction,
// with no polling granularity (the earlier figure polled each site every 5 ms).
//
// Environment: BENCH_REVOCATION_TRIALS (default 100), after BENCH_REVOCATION_WARMUP (default 3)
// trials that are not counted (first TLS connections, first JWKS fetch).
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const Koa = require('koa');

const TRIALS = Number(process.env.BENCH_REVOCATION_TRIALS ?? 100);
const WARMUP = Number(process.env.BENCH_REVOCATION_WARMUP ?? 3);
const SITES = ['a', 'b', 'c'];
const ENDED = 'back-channel logout: local sessions ended';

async function selfSignedTls() {
  const { generate } = require('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  return { key: pems.private, cert: pems.cert };
}

/** An HTTPS server on a free loopback port whose handler is set once the app exists. */
async function listen(tls) {
  const holder = { handler: (req, res) => res.writeHead(503).end() };
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => holder.handler(req, res));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${server.address().port}`,
    serve: (handler) => (holder.handler = handler),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

/** A browser: one cookie jar (the sites' cookies have names of their own), never follows redirects. */
function browser(agent) {
  const jar = new Map();
  return {
    get: (url) =>
      new Promise((resolve, reject) => {
        const headers = jar.size === 0 ? {} : { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') };
        https
          .get(url, { agent, headers }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk) => (body += chunk));
            res.on('end', () => {
              for (const line of res.headers['set-cookie'] ?? []) {
                const [pair] = line.split(';');
                const eq = pair.indexOf('=');
                const value = pair.slice(eq + 1);
                if (value === '' || /max-age=0/i.test(line)) jar.delete(pair.slice(0, eq));
                else jar.set(pair.slice(0, eq), value);
              }
              resolve({ status: res.statusCode, body });
            });
          })
          .on('error', reject);
      }),
  };
}

/** Percentile `p` (0–100) of sorted `values`, nearest rank. */
function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function run() {
  const { loadConfig } = require('../dist/config/load');
  const { systemClock, nowSeconds } = require('../dist/core/clock');
  const { createSessionRecord } = require('../dist/core/sessions/session');
  const { createDestination } = require('../dist/destination');
  const { createHub } = require('../dist/hub/app');
  const { mintForSite } = require('../dist/hub/handoff/mint');
  const { siteRegistry } = require('../dist/hub/handoff/sites');
  const { revokeSession } = require('../dist/hub/revocation/revoke');
  const { silentLogger } = require('../dist/log/logger');
  const { createDeliveryWorker, hubDeps, openKeyring, startMaintenance } = require('../dist/main');
  const { agentFetch } = require('../dist/outbox/agent-fetch');
  const { openStores } = require('../dist/stores/open');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-revocation-'));
  const tls = await selfSignedTls();
  const agent = new https.Agent({ ca: tls.cert, keepAlive: true });
  const servers = [];
  const destinations = [];
  let stores = null;
  let maintenance = null;
  try {
    const hubServer = await listen(tls);
    servers.push(hubServer);
    const siteServers = {};
    for (const name of SITES) {
      siteServers[name] = await listen(tls);
      servers.push(siteServers[name]);
    }
    const credentials = Object.fromEntries(SITES.map((name) => [name, crypto.randomBytes(32).toString('base64url')]));
    const { config } = loadConfig({
      env: {
        TESSERA_PUBLIC_URL: hubServer.url,
        TESSERA_STORE: `sqlite:${dir}/tessera.db`,
        TESSERA_KEYS_DIR: path.join(dir, 'keys'),
        TESSERA_MAIL_TRANSPORT: 'file',
        TESSERA_MAIL_DIR: path.join(dir, 'mail'),
        TESSERA_LOG_LEVEL: 'silent',
        TESSERA_SITES: JSON.stringify(
          SITES.map((name) => ({
            origin: siteServers[name].url,
            claims: ['email', 'name'],
            credentialHash: crypto.createHash('sha256').update(credentials[name]).digest('hex'),
            backchannelLogoutUri: `${siteServers[name].url}/shared-session/backchannel-logout`,
          })),
        ),
      },
    });
    const clock = systemClock;
    const logger = silentLogger();
    stores = await openStores(config, clock, logger);
    const keyring = await openKeyring(config, clock, logger);
    const worker = createDeliveryWorker(config, clock, logger, stores, keyring, { fetch: agentFetch(agent) });
    const deps = hubDeps(config, clock, logger, stores, keyring, worker);
    hubServer.serve(createHub(deps).callback());
    maintenance = startMaintenance(config, clock, logger, stores, keyring, worker);

    // sid → site → when its SDK ended the local session (performance.now()).
    const endedAt = new Map();
    const waiting = new Map();
    for (const name of SITES) {
      const log = (level) => (fields, message) => {
        if (message === ENDED) {
          const at = performance.now();
          if (!endedAt.has(fields.sid)) endedAt.set(fields.sid, {});
          endedAt.get(fields.sid)[name] = at;
          waiting.get(fields.sid)?.();
        } else if (level === 'warn' || level === 'error') {
          console.error(`  site ${name}: ${message} ${JSON.stringify(fields)}`);
        }
      };
      const destination = createDestination({
        hubUrl: hubServer.url,
        siteOrigin: siteServers[name].url,
        ca: tls.cert,
        credential: credentials[name],
        cookie: { name: `site_${name}` },
        logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
      });
      destinations.push(destination);
      const app = new Koa();
      app.use(destination.middleware());
      app.use((ctx) => {
        ctx.body = { tessera: ctx.state.tessera ?? null };
      });
      siteServers[name].serve(app.callback());
    }

    const sites = Object.fromEntries(SITES.map((name) => [name, siteRegistry(config).resolve(siteServers[name].url)]));
    const src = new URL(config.publicUrl).host;
    const whoami = async (visitor, name) => JSON.parse((await visitor.get(`${siteServers[name].url}/whoami`)).body).tessera;

    /** One trial: returns { ms: revoke → last site ended, revokeMs: revokeSession's own time }. */
    let users = 0;
    const trial = async () => {
      users += 1;
      const user = await stores.users.create({ email: `user${users}@example.org`, name: `User ${users}` });
      const { record } = createSessionRecord({ userId: user.id, ip: '127.0.0.1', userAgent: 'bench', now: nowSeconds(clock) }, config.sessions);
      await stores.sessions.create(record);
      const visitor = browser(agent);
      for (const name of SITES) {
        const token = mintForSite(deps, sites[name], { record, user }, src);
        const reply = await visitor.get(`${siteServers[name].url}/shared-session/${token}.gif`);
        if (reply.status !== 200) throw new Error(`site ${name} refused a beacon (status ${reply.status})`);
        if ((await whoami(visitor, name))?.sid !== record.sid) throw new Error(`site ${name} did not take the session`);
      }
      const linkedBy = Date.now() + 5000;
      while ((await stores.sessions.get(record.sid))?.sites.length !== SITES.length) {
        if (Date.now() > linkedBy) throw new Error('the hub did not record the three site links within 5 s');
        await new Promise((resolve) => setTimeout(resolve, 2));
      }

      const allEnded = new Promise((resolve, reject) => {
        const timeout = setTimeout(() => reject(new Error(`revocation did not reach every site within 10 s (reached: ${Object.keys(endedAt.get(record.sid) ?? {}).join(', ') || 'none'})`)), 10_000);
        waiting.set(record.sid, () => {
          if (Object.keys(endedAt.get(record.sid)).length === SITES.length) {
            clearTimeout(timeout);
            resolve();
          }
        });
      });
      const started = performance.now();
      await revokeSession(deps, record.sid, 'admin', 'bench');
      const revokeMs = performance.now() - started;
      await allEnded;
      waiting.delete(record.sid);
      const ms = Math.max(...Object.values(endedAt.get(record.sid))) - started;
      endedAt.delete(record.sid);
      for (const name of SITES) {
        if ((await whoami(visitor, name)) !== null) throw new Error(`site ${name} still shows a revoked session`);
      }
      return { ms, revokeMs };
    };

    for (let i = 0; i < WARMUP; i++) await trial();
    const loadStart = os.loadavg()[0];
    const results = [];
    for (let i = 0; i < TRIALS; i++) results.push(await trial());
    const times = results.map((r) => r.ms).sort((a, b) => a - b);
    const revokeTimes = results.map((r) => r.revokeMs).sort((a, b) => a - b);
    const ms = (value) => Math.round(value * 10) / 10;
    return {
      context:
        `${TRIALS} trials after ${WARMUP} warm-up, one at a time; hub (SQLite sessions and outbox, worker kicked, 500 ms poll) and 3 Koa SDK sites in this process, HTTPS on loopback; ` +
        `load average ${loadStart.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end, ${os.cpus().length} cores`,
      rows: [
        {
          label: `revoke → last of 3 SDK sites refusing (${TRIALS} trials)`,
          summary: `p50 ${ms(percentile(times, 50))} ms, p99 ${ms(percentile(times, 99))} ms, max ${ms(times[times.length - 1])} ms`,
          note: `p90 ${ms(percentile(times, 90))} ms; revokeSession itself (outbox write, store delete, kick): p50 ${ms(percentile(revokeTimes, 50))} ms, p99 ${ms(percentile(revokeTimes, 99))} ms`,
          p99: { ms: ms(percentile(times, 99)), atMost: 1000 },
        },
      ],
    };
  } finally {
    await maintenance?.stop();
    await Promise.all(destinations.map((destination) => destination.close()));
    await Promise.all(servers.map((server) => server.close()));
    agent.destroy();
    await stores?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { title: 'revocation: revokeSession at the hub to the last of three SDK sites refusing the session', run };
