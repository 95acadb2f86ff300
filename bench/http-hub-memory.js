// The hub's memory under load: the peak resident set size of the hub process (Redis sessions)
// while it serves signed-in /account pages, then beacon accepts, at saturation.
//
// Target (issue "Scale-out", benchmark section): hub RSS <= 150 MiB under load.
//
// The process measured is the one users run: `node dist/cli/main.js serve` (what the package's
// `tessera` bin, the Docker image's entry point and the tests start), configured by environment
// variables only, in a temporary working directory, pinned to one core like the other HTTP
// benchmarks' servers (bench/README.md, "The HTTP benchmarks: method"). So whatever `serve`
// does to its process (its stores, its metrics registry, its outbox worker, the V8 settings of
// src/main.ts limitHeapGrowth) is measured, not a copy of it. Sessions in Redis at
// 127.0.0.1:6379 under a random key prefix; users, audit log and outbox in the SQLite file
// data/tessera.db of that directory (the default without a PostgreSQL URL); log level info on
// standard output, which is /dev/null; the metrics listener on a loopback port, from which the
// V8 heap figures of each note are read (prom-client's nodejs_heap_* gauges).
//
// Its peak RSS is the kernel's VmHWM from /proc/<pid>/status, reset to the current RSS
// (/proc/<pid>/clear_refs) after start-up and between the phases, so each row is the peak
// during its own load:
//   at rest   after start-up and one request of each kind;
//   /account  GET /account with a valid __Host-tessera cookie, 1 warm-up + BENCH_HTTP_ROUNDS
//             runs of BENCH_HTTP_ROUND_SECONDS at BENCH_HTTP_CONNECTIONS connections;
//   accept    GET /shared-session/<token>.js on the shop's host with a fresh token each (minted
//             beforehand in worker threads of this process by the hub's own mintForSite), as
//             many as the /account phase served, in the same number of runs.
// The user and the sessions are created before the hub starts, through the same store adapters
// (dist/), in the same SQLite file and under the same Redis prefix. CPU time per request is the
// process's user + system time (/proc/<pid>/stat, once it is idle again) over the responses
// autocannon received.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const harness = require('./http-harness');

const CLI = path.join(__dirname, '../dist/cli/main.js');
const MIB = 2 ** 20;
const SITE_HOST = new URL(harness.SHOP).host;
const headers = { host: SITE_HOST, referer: `${harness.HUB}/` };
const pinnedCore = String(os.cpus().length - 1);
const canPin = os.cpus().length > 1 && spawnSync('taskset', ['-c', pinnedCore, 'true']).status === 0;
const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Requests that each take the next path of `paths` (a token spent twice would be a 400). */
function feed(paths) {
  let next = 0;
  return { method: 'GET', path: paths[0], headers, setupRequest: (req) => ({ ...req, path: paths[next++ % paths.length] }) };
}

/** A TCP port nothing listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The body of GET `url`. */
function fetchText(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      })
      .on('error', reject);
  });
}

/**
 * The environment harness.benchConfig configures the benchmark hub with (six sites, 120 s tokens,
 * keys and mail under `dir`), as TESSERA_* variables for `tessera serve`, Redis sessions.
 */
function hubEnvironment({ dir, prefix }, port, metricsPort) {
  const sites = [harness.SHOP, ...harness.OTHER_SITES].map((origin) => ({ origin, claims: ['email', 'name'] }));
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TESSERA_')));
  return {
    ...inherited,
    TESSERA_PUBLIC_URL: harness.HUB,
    TESSERA_HOST: '127.0.0.1',
    TESSERA_PORT: String(port),
    TESSERA_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
    TESSERA_STORE: 'redis://127.0.0.1:6379',
    TESSERA_STORE_PREFIX: prefix,
    TESSERA_KEYS_DIR: path.join(dir, 'keys'),
    TESSERA_MAIL_DIR: path.join(dir, 'mail'),
    TESSERA_SITES: JSON.stringify(sites),
    TESSERA_TOKEN_TTL: '120',
    TESSERA_LOG_LEVEL: 'info',
  };
}

/**
 * A user in data/tessera.db and, for each name, a signed-in session in Redis, created through
 * the hub's adapters as http-server.js creates them. Returns the fixtures and a cleanup that
 * deletes every key under the prefix.
 */
async function createFixtures(ws, names) {
  const { nowSeconds, systemClock: clock } = require('../dist/core/clock');
  const { createSessionRecord, formatCookieValue } = require('../dist/core/sessions/session');
  const { closeRedisClient, createRedisClient } = require('../dist/stores/redis/client');
  const { RedisSessionStore } = require('../dist/stores/redis/session-store');
  const { openDatabase } = require('../dist/stores/sqlite/database');
  const { SqliteUserStore } = require('../dist/stores/sqlite/user-store');
  const config = harness.benchConfig({ ...ws, store: 'redis' });

  fs.mkdirSync(path.join(ws.dir, 'data'));
  const db = openDatabase(path.join(ws.dir, 'data', 'tessera.db'));
  const user = await new SqliteUserStore(db, { clock }).create({ email: 'ada@example.org', name: 'Ada Lovelace' });
  db.close();

  const redis = createRedisClient(config.store.url);
  const store = new RedisSessionStore(redis, { clock, prefix: config.store.keyPrefix });
  const sessions = {};
  for (const name of names) {
    const created = createSessionRecord({ userId: user.id, ip: '127.0.0.1', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36', now: nowSeconds(clock) }, config.sessions);
    await store.create(created.record);
    sessions[name] = { sid: created.record.sid, hubCookie: formatCookieValue(created.record.sid, created.secret) };
  }
  const cleanup = async () => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.store.keyPrefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    await closeRedisClient(redis);
  };
  return { fixtures: { user, sessions }, cleanup };
}

/**
 * Starts `node dist/cli/main.js serve` in `ws.dir` and resolves once /healthz answers, with what
 * harness.measure needs of a server (url, cpu) and the memory readings.
 */
async function startServe(ws) {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const command = canPin ? ['taskset', ['-c', pinnedCore, process.execPath, CLI, 'serve']] : [process.execPath, [CLI, 'serve']];
  const child = spawn(command[0], command[1], { cwd: ws.dir, env: hubEnvironment(ws, port, metricsPort), stdio: ['ignore', 'ignore', 'inherit'] });
  let exited = null;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exited = { code, signal }))));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`tessera serve exited (${exited.code ?? exited.signal}) before listening`);
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error('tessera serve did not answer /healthz within 30 s');
    }
    const ready = await fetchText(`${url}/healthz`).then((res) => res.status === 200, () => false);
    if (ready) break;
    await sleep(50);
  }
  const proc = (file) => fs.readFileSync(`/proc/${child.pid}/${file}`, 'utf8');
  const cpuUs = () => {
    // Fields 14 and 15 (utime, stime), in clock ticks; the command name (2) may hold spaces.
    const fields = proc('stat').slice(proc('stat').lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticksPerSecond;
  };
  return {
    url,
    /** CPU time once the process has been idle for 50 ms (requests cut off at the end of a run finish first). */
    cpu: async () => {
      let last = cpuUs();
      for (let i = 0; i < 100; i++) {
        await sleep(50);
        const now = cpuUs();
        if (now === last) break;
        last = now;
      }
      // autocannon's count of responses replaces `handled` (see run() below).
      return { cpuUs: last, handled: 0, atMs: performance.now() };
    },
    /** VmHWM and VmRSS (KiB), the V8 heap from the metrics listener (bytes); `resetPeak` resets VmHWM afterwards. */
    memory: async ({ resetPeak = false } = {}) => {
      const { body } = await fetchText(`http://127.0.0.1:${metricsPort}/metrics`);
      const gauge = (pattern) => Number(new RegExp(`^${pattern} (\\S+)$`, 'm').exec(body)?.[1] ?? NaN);
      const status = proc('status');
      const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
      const memory = {
        vmHwmKiB: kib('VmHWM'),
        vmRssKiB: kib('VmRSS'),
        heapUsed: gauge('nodejs_heap_size_used_bytes'),
        oldSpace: gauge('nodejs_heap_space_size_total_bytes\\{space="old"\\}'),
        newSpace: gauge('nodejs_heap_space_size_total_bytes\\{space="new"\\}'),
      };
      if (resetPeak) fs.writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
      return memory;
    },
    /** SIGTERM, as `docker stop` sends it: the hub drains and exits 0. */
    stop: async () => {
      if (!exited) child.kill('SIGTERM');
      const { code, signal } = await exit;
      if (code !== 0) throw new Error(`tessera serve exited with ${code ?? signal} on SIGTERM`);
    },
  };
}

/** harness.measure, with the requests autocannon got answers to as the server's count. */
async function measure(hub, options) {
  const run = await harness.measure(hub, options);
  return { ...run, serverRequests: run.requests };
}

async function run() {
  const ws = harness.workspace();
  let hub = null;
  let cleanup = async () => {};
  try {
    const made = await createFixtures(ws, ['browser', 'beacon']);
    cleanup = made.cleanup;
    const { user, sessions } = made.fixtures;
    hub = await startServe(ws);
    const cookie = `__Host-tessera=${sessions.browser.hubCookie}`;
    const holder = { record: { sid: sessions.beacon.sid }, user };
    const account = await harness.probe(hub.url, '/account', { cookie });
    if (account.status !== 200 || !account.body.includes(user.email)) throw new Error(`GET /account did not answer a signed-in page (status ${account.status})`);
    const [sample] = await harness.mintTokens(ws, holder, harness.SHOP, 1);
    const accepted = await harness.probe(hub.url, `/shared-session/${sample}.js`, headers);
    if (accepted.status !== 200) throw new Error(`a beacon was not accepted (status ${accepted.status})`);

    const atRest = await hub.memory({ resetPeak: true });

    const accountRuns = [];
    for (let round = 0; round <= harness.ROUNDS; round++) accountRuns.push(await measure(hub, { request: harness.get('/account', { cookie }) }));
    const afterAccount = await hub.memory({ resetPeak: true });
    const accountFigures = harness.summary(accountRuns.slice(1));

    // As many accepts as /account requests were served, in as many runs; each run spends its
    // own pool (autocannon may build a request per connection it never sends: spares).
    const perRun = Math.max(harness.CONNECTIONS, Math.round(accountRuns.reduce((n, r) => n + r.requests, 0) / accountRuns.length));
    const spare = 2 * harness.CONNECTIONS;
    const tokens = await harness.mintTokens(ws, holder, harness.SHOP, accountRuns.length * (perRun + spare));
    const acceptRuns = [];
    for (let round = 0; round < accountRuns.length; round++) {
      const pool = tokens.slice(round * (perRun + spare), (round + 1) * (perRun + spare)).map((token) => `/shared-session/${token}.js`);
      acceptRuns.push(await measure(hub, { request: feed(pool), amount: perRun }));
    }
    const afterAccept = await hub.memory();
    const acceptFigures = harness.summary(acceptRuns.slice(1));

    const mib = (bytes) => (bytes / MIB).toFixed(1);
    const heap = (m) => `V8 heap in use ${mib(m.heapUsed)} MiB (old generation ${mib(m.oldSpace)} MiB, young ${mib(m.newSpace)} MiB), RSS now ${mib(m.vmRssKiB * 1024)} MiB`;
    return {
      context: `${harness.method()}; \`node dist/cli/main.js serve\`, sessions in Redis at 127.0.0.1:6379, log level info to /dev/null; peak RSS = VmHWM, reset between phases`,
      rows: [
        { label: 'hub RSS at rest, after start-up', opsPerSecond: atRest.vmHwmKiB / 1024, unit: 'MiB', note: heap(atRest) },
        {
          label: 'hub peak RSS, GET /account at saturation',
          opsPerSecond: afterAccount.vmHwmKiB / 1024,
          unit: 'MiB',
          atMost: 150,
          summary: `at ${Math.round(accountFigures.rps).toLocaleString('en-US')} req/s`,
          note: `${heap(afterAccount)}; ${harness.describe(accountFigures)}`,
        },
        {
          label: 'hub peak RSS, beacon accepts at saturation',
          opsPerSecond: afterAccept.vmHwmKiB / 1024,
          unit: 'MiB',
          atMost: 150,
          summary: `at ${Math.round(acceptFigures.rps).toLocaleString('en-US')} req/s`,
          note: `${heap(afterAccept)}; ${harness.describe(acceptFigures)}`,
        },
      ],
    };
  } finally {
    try {
      await hub?.stop();
    } finally {
      await cleanup();
      harness.removeWorkspace(ws);
    }
  }
}

module.exports = { title: "the hub's resident memory under /account and beacon accept loads (`tessera serve`, Redis)", run };
