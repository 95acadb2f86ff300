// What the HTTP benchmarks share: the hub configuration, servers in child processes
// (bench/http-server.js), autocannon runs against them on loopback, handoff tokens minted in
// worker threads, and the figures drawn from it all. Not a benchmark itself (it exports no `run`).
//
// Method: each server runs in a process of its own, pinned to the last core with `taskset` when
// it exists (so "one core" means one core, GC and libuv threads included); autocannon runs in
// the runner's process, unpinned, so it gets the other core. Every server a benchmark needs is
// started first (an idle server costs nothing), then the cases run in rounds: each round runs
// every case in turn for BENCH_HTTP_ROUND_SECONDS (default 1) with BENCH_HTTP_CONNECTIONS
// (default 50) connections, pipelining 1. The first round is a warm-up and is dropped; then
// BENCH_HTTP_ROUNDS (default 5) rounds are kept. So each case gets 1 s of warm-up and 5 s of
// measurement, and a baseline and its subject always run seconds apart, under the same machine
// load: rates are medians over the rounds, ratios medians of the per-round ratios. Server and
// client CPU time are read from process.cpuUsage, to tell which side was saturated; the server
// also counts the requests it finished, for an exact CPU time per request. Latency at a given
// load comes from paced() rather than autocannon (see there).
//
// Environment: BENCH_HTTP_ROUNDS, BENCH_HTTP_ROUND_SECONDS, BENCH_HTTP_CONNECTIONS;
// BENCH_HTTP_PROFILE_DIR=<dir> runs every server under `node --cpu-prof` and writes its
// .cpuprofile there (summarise it with `node bench/http-profile.js <file>`).
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 5);
const ROUND_SECONDS = Number(process.env.BENCH_HTTP_ROUND_SECONDS ?? 1);
const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 50);

const HUB = 'https://hub.example.com';
/** The site whose receiver is the hub (its reverse proxy routes /shared-session/ to the hub). */
const SHOP = 'https://shop.example.net';
/** Five more sites: a loader on the shop that holds none of them mints five beacons. */
const OTHER_SITES = ['https://www.example.org', 'https://news.example.com', 'https://blog.example.io', 'https://store.example.co', 'https://forum.example.dev'];

/**
 * The configuration every benchmark server (and the token minters) uses: six sites, identity
 * claims on each, keys and data in `dir`. Tokens are minted before the load starts, so they
 * carry the longest lifetime the hub allows (120 s) instead of the default 30 s; the lifetime
 * changes nothing else on the accept path.
 */
function benchConfig({ dir, store, prefix, siteCredential, algorithm }) {
  const { loadConfig } = require('../dist/config/load');
  // With `siteCredential`, every site may call the site API with it (for benchmarks of that API).
  const credentialHash = siteCredential ? { credentialHash: crypto.createHash('sha256').update(siteCredential).digest('hex') } : {};
  const sites = [SHOP, ...OTHER_SITES].map((origin) => ({ origin, claims: ['email', 'name'], ...credentialHash }));
  return loadConfig({
    env: {
      TESSERA_PUBLIC_URL: HUB,
      TESSERA_STORE: store === 'redis' ? 'redis://127.0.0.1:6379' : `sqlite:${dir}/tessera.db`,
      TESSERA_STORE_PREFIX: prefix ?? 'tessera:',
      TESSERA_KEYS_DIR: path.join(dir, 'keys'),
      TESSERA_MAIL_DIR: path.join(dir, 'mail'),
      TESSERA_SITES: JSON.stringify(sites),
      TESSERA_TOKEN_TTL: '120',
      // The hub's signing algorithm when a benchmark compares them (default RS256).
      ...(algorithm ? { TESSERA_TOKEN_ALGORITHM: algorithm } : {}),
    },
  }).config;
}

/** A fresh temporary directory and a random Redis key prefix for one benchmark run. */
function workspace() {
  return { dir: fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-')), prefix: `tessera-bench-${crypto.randomBytes(6).toString('hex')}:` };
}

function removeWorkspace({ dir }) {
  fs.rmSync(dir, { recursive: true, force: true });
}

const pinnedCore = String(os.cpus().length - 1);
const canPin = os.cpus().length > 1 && spawnSync('taskset', ['-c', pinnedCore, 'true']).status === 0;

/** How the server runs, for the benchmarks' context lines. */
function serverPlacement() {
  return canPin ? `server pinned to core ${pinnedCore}, autocannon in the runner` : 'server in a child process (not pinned: no taskset), autocannon in the runner';
}

/**
 * Starts bench/http-server.js with `scenario` and resolves once it listens; `options.core` pins
 * it to that core instead of the last one (when taskset exists).
 * @returns {Promise<{ url: string, fixtures: object, cpu(): Promise<{ cpuUs: number, handled: number, atMs: number }>, rawSign(ms: number): Promise<{ rps: number, cpuPerSignUs: number }>, serverTimes(): Promise<object>, memory(options?: { resetPeak?: boolean }): Promise<object>, stop(): Promise<void> }>}
 */
function startServer(scenario, options = {}) {
  const profileDir = process.env.BENCH_HTTP_PROFILE_DIR;
  const args = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), path.join(__dirname, 'http-server.js'), JSON.stringify(scenario)];
  const child = canPin
    ? spawn('taskset', ['-c', String(options.core ?? pinnedCore), process.execPath, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    : spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map();
  let nextId = 0;
  const call = (op, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, op, ...params });
    });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      const err = new Error(`benchmark server exited with status ${code}`);
      for (const { reject: fail } of pending.values()) fail(err);
      reject(err);
    });
    child.on('message', (message) => {
      if (message.failed) return reject(new Error(`benchmark server failed to start: ${message.failed}`));
      if (message.ready) {
        return resolve({
          url: `http://127.0.0.1:${message.ready.port}`,
          fixtures: message.ready.fixtures,
          cpu: () => call('cpu'),
          rawSign: (ms) => call('rawSign', { ms }),
          serverTimes: () => call('serverTimes'),
          memory: (params = {}) => call('memory', params),
          stop: async () => {
            const exited = new Promise((done) => child.once('exit', done));
            await call('stop');
            await exited;
          },
        });
      }
      const waiting = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) waiting.reject(new Error(message.error));
      else waiting.resolve(message.result);
    });
  });
}

/**
 * One autocannon run against `server`, at saturation: every connection sends its next request as
 * soon as the previous answer arrives. `request` is what every request sends (`path`, `headers`,
 * or `setupRequest` to vary it). `amount` replaces the duration when requests cannot repeat
 * (single-use tokens). Every response must be 2xx: anything else fails the benchmark, since it
 * would measure something else.
 * @returns {Promise<Run>} where Run is { rps, p50, p99, seconds, requests, clientCpuUs } and, from
 *   the server, serverCpuUs, serverRequests (finished, in flight at the end included) and serverSeconds
 */
async function measure(server, { request, amount }) {
  const autocannon = require('autocannon');
  const serverBefore = await server.cpu();
  const clientBefore = process.cpuUsage();
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    pipelining: 1,
    requests: [request],
    // autocannon ends a run on its next sample tick: at the default 1 s, a counted run would
    // last a whole number of seconds whatever it took.
    sampleInt: 10,
    ...(amount ? { amount } : { duration: ROUND_SECONDS }),
  });
  const client = process.cpuUsage(clientBefore);
  const serverAfter = await server.cpu();
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    const codes = Object.entries(result.statusCodeStats).map(([status, { count }]) => `${status}×${count}`).join(', ');
    throw new Error(`${request.path} on ${server.url}: ${result.non2xx} non-2xx (${codes}), ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return {
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    seconds: result.duration,
    requests: result.requests.total,
    clientCpuUs: client.user + client.system,
    serverCpuUs: serverAfter.cpuUs - serverBefore.cpuUs,
    serverRequests: serverAfter.handled - serverBefore.handled,
    serverSeconds: (serverAfter.atMs - serverBefore.atMs) / 1000,
  };
}

/**
 * Latency at a given load: `rate` requests/s for BENCH_HTTP_ROUND_SECONDS, evenly spaced, over
 * up to BENCH_HTTP_CONNECTIONS keep-alive connections (node:http). autocannon cannot do this:
 * its rate limit lets each connection send at full speed until it has made its share of the
 * second, then wait for the next second, so every second starts with a burst at saturation.
 * Each latency is counted from the moment the request is handed to the client (sent, or queued
 * for a free connection), not from when a connection was free to send it, so a server falling
 * behind shows as latency (no coordinated omission); only the client's timer slack (under 1 ms)
 * is left out.
 * @returns {Promise<Run>} as measure() (clientCpuUs included)
 */
async function paced(server, { request, rate }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const count = Math.max(1, Math.round(rate * ROUND_SECONDS));
  const intervalMs = 1000 / rate;
  const latencies = [];
  let failures = 0;
  const serverBefore = await server.cpu();
  const clientBefore = process.cpuUsage();
  const started = performance.now() + 20;
  await new Promise((resolve) => {
    let pending = count;
    const finish = (sentAt, ok) => {
      if (ok) latencies.push(performance.now() - sentAt);
      else failures += 1;
      if (--pending === 0) resolve();
    };
    const send = () => {
      const sentAt = performance.now();
      const req = http.get(`${server.url}${request.path}`, { agent, headers: request.headers }, (res) => {
        res.resume();
        res.on('end', () => finish(sentAt, res.statusCode >= 200 && res.statusCode < 300));
      });
      req.on('error', () => finish(sentAt, false));
    };
    // One timer per millisecond of the run, sending every request due by then.
    let next = 0;
    const tick = () => {
      const now = performance.now();
      for (; next < count && started + next * intervalMs <= now; next++) send();
      if (next < count) setTimeout(tick, 1);
    };
    setTimeout(tick, Math.max(0, started - performance.now()));
  });
  const seconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  const serverAfter = await server.cpu();
  agent.destroy();
  if (failures > 0) throw new Error(`${request.path} on ${server.url}: ${failures} of ${count} paced requests failed or were not 2xx`);
  latencies.sort((a, b) => a - b);
  const percentile = (p) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] * 10) / 10;
  return {
    rps: count / seconds,
    p50: percentile(50),
    p99: percentile(99),
    seconds,
    requests: count,
    clientCpuUs: client.user + client.system,
    serverCpuUs: serverAfter.cpuUs - serverBefore.cpuUs,
    serverRequests: serverAfter.handled - serverBefore.handled,
    serverSeconds: (serverAfter.atMs - serverBefore.atMs) / 1000,
  };
}

/**
 * Runs `cases` in rounds (see the method above) and returns each case's kept runs by name.
 * A case is { name, server, options } with measure()'s options, or { name, run } where
 * `run(round)` (round 0 is the warm-up) does its own measuring and resolves to a run ({ rps }
 * at least): single-use requests, or something that is not HTTP (raw signing).
 */
async function rounds(cases) {
  const kept = Object.fromEntries(cases.map(({ name }) => [name, []]));
  for (let round = 0; round <= ROUNDS; round++) {
    for (const c of cases) {
      const result = c.run ? await c.run(round) : await measure(c.server, c.options);
      if (round > 0) kept[c.name].push(result);
    }
  }
  return kept;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Per-round ratios of two cases' rates (or of a rate to per-round baseline values). */
function ratios(runs, baseline) {
  return runs.map((run, i) => run.rps / (typeof baseline[i] === 'number' ? baseline[i] : baseline[i].rps));
}

/** The figures of a case's kept runs: medians, and CPU time summed over all of them. */
function summary(runs) {
  const sum = (key) => runs.reduce((total, run) => total + run[key], 0);
  const seconds = sum('seconds');
  return {
    rps: median(runs.map((run) => run.rps)),
    minRps: Math.min(...runs.map((run) => run.rps)),
    maxRps: Math.max(...runs.map((run) => run.rps)),
    p50: median(runs.map((run) => run.p50)),
    p99: median(runs.map((run) => run.p99)),
    maxP99: Math.max(...runs.map((run) => run.p99)),
    requests: sum('requests'),
    seconds,
    serverCpu: sum('serverCpuUs') / 1e6 / sum('serverSeconds'),
    clientCpu: sum('clientCpuUs') / 1e6 / seconds,
    // Unlike a rate, CPU time per request moves less when other jobs take turns on the server's
    // core: it tells a slow server from a busy machine.
    cpuPerRequestUs: sum('serverCpuUs') / sum('serverRequests'),
  };
}

const int = (n) => Math.round(n).toLocaleString('en-US');

/**
 * A row's note: the spread over the rounds, latency, and where the CPU went; with the per-round
 * ratios and the baseline's figures, the spread of the ratio and the same ratio in CPU time per
 * request (which other jobs on the machine disturb less than rates).
 */
function describe(s, ratioList, baseline) {
  const spread = ratioList ? `, ratio ${Math.min(...ratioList).toFixed(3)}–${Math.max(...ratioList).toFixed(3)}` : '';
  const byCpu = baseline ? `, ${(baseline.cpuPerRequestUs / s.cpuPerRequestUs).toFixed(3)} × the baseline's` : '';
  return (
    `rounds ${int(s.minRps)}–${int(s.maxRps)} req/s${spread}; p50 ${s.p50} ms, p99 ${s.p99} ms (worst round ${s.maxP99} ms); ` +
    `CPU: server ${Math.round(s.serverCpu * 100)} % = ${int(s.cpuPerRequestUs)} µs/request${byCpu}, client ${Math.round(s.clientCpu * 100)} %`
  );
}

/** The method, for a benchmark's context line. */
function method() {
  return (
    `${serverPlacement()}; ${CONNECTIONS} connections, pipelining 1; 1 warm-up + ${ROUNDS} rounds of ${ROUND_SECONDS} s per case, medians; ` +
    `load average ${os.loadavg().map((n) => n.toFixed(2)).join(' ')} at the end, ${os.cpus().length} cores`
  );
}

/** One request outside the load, to prove a case answers what it should before measuring it. */
function probe(url, pathname, headers) {
  return new Promise((resolve, reject) => {
    http
      .get(`${url}${pathname}`, { headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

/** One GET request for autocannon. */
function get(pathname, headers = {}) {
  return { method: 'GET', path: pathname, headers };
}

/**
 * `count` handoff tokens for `holder`'s session to `siteOrigin`, embedded by the hub's own page,
 * minted by the hub's real code (mintForSite → mintHandoff with the keyring over the keys
 * directory the server uses), in one worker thread per core.
 */
async function mintTokens(workspaceOptions, holder, siteOrigin, count) {
  const threads = os.cpus().length;
  const shares = Array.from({ length: threads }, (_, i) => Math.floor(count / threads) + (i < count % threads ? 1 : 0));
  const parts = await Promise.all(
    shares.map(
      (share) =>
        new Promise((resolve, reject) => {
          const worker = new Worker(__filename, { workerData: { mint: { workspace: workspaceOptions, holder, siteOrigin, count: share } } });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    ),
  );
  return parts.flat();
}

async function mintInWorker({ workspace: ws, holder, siteOrigin, count }) {
  const { systemClock } = require('../dist/core/clock');
  const { siteRegistry } = require('../dist/hub/handoff/sites');
  const { mintForSite } = require('../dist/hub/handoff/mint');
  const { silentLogger } = require('../dist/log/logger');
  const { openKeyring } = require('../dist/main');
  const config = benchConfig(ws);
  const deps = { config, clock: systemClock, keyring: await openKeyring(config, systemClock, silentLogger()) };
  const site = siteRegistry(config).all().find((s) => s.origin === siteOrigin);
  const src = new URL(config.publicUrl).host;
  return Array.from({ length: count }, () => mintForSite(deps, site, holder, src));
}

if (!isMainThread && workerData?.mint) {
  mintInWorker(workerData.mint).then((tokens) => parentPort.postMessage(tokens));
}

module.exports = {
  CONNECTIONS,
  HUB,
  OTHER_SITES,
  ROUND_SECONDS,
  ROUNDS,
  SHOP,
  benchConfig,
  describe,
  get,
  measure,
  median,
  method,
  mintTokens,
  paced,
  probe,
  ratios,
  removeWorkspace,
  rounds,
  startServer,
  summary,
  workspace,
};
