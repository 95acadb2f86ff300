// What the HTTP benchmarks share: the hub configuration, servers in child processes
// (bench/http-server.js), load generators against them on loopback, handoff tokens minted in
// worker threads, and the figures drawn from it all. Not a benchmark itself (it exports no `run`).
//
// Method: each server runs in a process of its own, pinned to the last core with `taskset` when
// it exists (so "one core" means one core, GC and libuv threads included). The load comes from
// one of three generators:
//   autocannon  (measure(), the default) in the runner's process, unpinned: at saturation;
//   wrk         (measure() with generator 'wrk') a C program costing a tenth of autocannon's CPU
//               per request, pinned to the other cores: at saturation. A bench prerequisite
//               (Debian package `wrk`, see bench/README.md);
//   paced()     a fixed-rate client of our own (raw keep-alive sockets) in a child process pinned
//               to the other cores: latency at a given rate, which neither of the others can pace.
// Every server a benchmark needs is started first (an idle server costs nothing), then the cases
// run in rounds: each round runs every case in turn for BENCH_HTTP_ROUND_SECONDS (default 1) with
// BENCH_HTTP_CONNECTIONS (default 50) connections, pipelining 1. The first round is a warm-up and
// is dropped; then BENCH_HTTP_ROUNDS (default 5) rounds are kept. So each case gets 1 s of
// warm-up and 5 s of measurement, and a baseline and its subject always run seconds apart, under
// the same machine load: rates are medians over the rounds, ratios medians of the per-round
// ratios. Server and generator CPU time are read from process.cpuUsage (wrk's from its own
// /proc/self/stat), to tell which side was saturated; the server also counts the requests it
// finished, for an exact CPU time per request, and how long its event loop waited for its core
// while other processes held it (schedstat). From those, each note says what limited the figure
// (limitOf): the server's own CPU time per request (Tessera's cost), or the load generator or
// other processes on the server's core (the machine).
//
// Environment: BENCH_HTTP_ROUNDS, BENCH_HTTP_ROUND_SECONDS (whole seconds for wrk),
// BENCH_HTTP_CONNECTIONS; BENCH_NODE_FLAGS (node options for every server, e.g. `--trace-gc`,
// for experiments); BENCH_HTTP_PROFILE_DIR=<dir> runs every server under `node --cpu-prof`
// and writes its .cpuprofile there (summarise it with `node bench/http-profile.js <file>`).
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
/** Where wrk and the paced client run: every core but the servers' ("0" on two cores). */
const generatorCores = os.cpus().length > 2 ? `0-${os.cpus().length - 2}` : '0';
/** Whether wrk is installed (with no arguments it prints its usage and exits with 1). */
const hasWrk = !spawnSync('wrk', [], { stdio: 'ignore' }).error;
/** Clock ticks per second of the CPU times in /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** [command, args] running `command` pinned to `cores`, when taskset exists and `cores` is not null. */
function pinned(cores, command, args) {
  return canPin && cores !== null ? ['taskset', ['-c', String(cores), command, ...args]] : [command, args];
}

/** How long this process's main thread has waited, runnable, for a core: see bench/http-server.js. */
function runQueueWaitUs() {
  try {
    return Number(fs.readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]) / 1000;
  } catch {
    return null;
  }
}

/**
 * Starts bench/http-server.js with `scenario` and resolves once it listens; `options.core` pins
 * it to that core instead of the last one (when taskset exists), or, when null, leaves it free
 * to run on every core.
 * @returns {Promise<{ url: string, fixtures: object, cpu(): Promise<{ cpuUs: number, handled: number, atMs: number, waitUs: number | null }>, rawSign(ms: number): Promise<{ rps: number, cpuPerSignUs: number }>, serverTimes(): Promise<object>, memory(options?: { resetPeak?: boolean }): Promise<object>, stop(): Promise<void> }>}
 */
function startServer(scenario, options = {}) {
  const profileDir = process.env.BENCH_HTTP_PROFILE_DIR;
  const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter((flag) => flag !== '');
  const args = [...nodeFlags, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), path.join(__dirname, 'http-server.js'), JSON.stringify(scenario)];
  const child = spawn(...pinned(options.core === undefined ? pinnedCore : options.core, process.execPath, args), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

/** The server's side of a run, from its cpu() readings before and after. */
function serverSide(before, after) {
  return {
    serverCpuUs: after.cpuUs - before.cpuUs,
    serverRequests: after.handled - before.handled,
    serverSeconds: (after.atMs - before.atMs) / 1000,
    serverWaitUs: before.waitUs == null || after.waitUs == null ? null : after.waitUs - before.waitUs,
  };
}

/**
 * One run against `server` at saturation: every connection sends its next request as soon as
 * the previous answer arrives. `request` is what every request sends (`method`, `path`,
 * `headers`, `body`; with autocannon, `setupRequest` to vary it). `generator` is 'autocannon'
 * (the default, in this process) or 'wrk' (pinned to `core`, default every core but the
 * servers'; null leaves it unpinned). `amount` replaces the duration when requests cannot repeat
 * (single-use tokens; autocannon only). Every response must be 2xx: anything else fails the
 * benchmark, since it would measure something else (wrk counts only 4xx and 5xx: probe a case
 * before measuring it).
 * @returns {Promise<Run>} where Run is { rps, p50, p99, seconds, requests, clientCpuUs, generator }
 *   and, from the server, serverCpuUs, serverRequests (finished, in flight at the end included),
 *   serverSeconds and serverWaitUs (its event loop's wait for its core; null without schedstat)
 */
async function measure(server, { request, amount, generator = 'autocannon', core = generatorCores }) {
  if (generator === 'wrk') {
    if (amount) throw new Error('wrk runs for a duration: use autocannon for a counted run');
    return measureWithWrk(server, request, core);
  }
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
    generator: 'autocannon',
    ...serverSide(serverBefore, serverAfter),
  };
}

// wrk takes its requests from a Lua script: one per distinct request, written once.
let wrkScripts = null;

/** The Lua script that makes wrk send `request` and print its figures as one JSON line. */
function wrkScript(request) {
  const key = JSON.stringify(request);
  if (wrkScripts === null) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-wrk-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    wrkScripts = { dir, files: new Map() };
  }
  if (wrkScripts.files.has(key)) return wrkScripts.files.get(key);
  // Lua long strings take any bytes but their closing bracket.
  const lua = (value) => {
    if (String(value).includes(']==]')) throw new Error(`cannot quote ${JSON.stringify(value)} for wrk`);
    return `[==[${value}]==]`;
  };
  // wrk adds its own Host header unless the table has one spelled "Host".
  const headers = Object.entries(request.headers ?? {}).map(([name, value]) => `wrk.headers[ ${lua(name.toLowerCase() === 'host' ? 'Host' : name)} ] = ${lua(value)}`);
  const script = [
    `wrk.method = ${lua(request.method ?? 'GET')}`,
    `wrk.path = ${lua(request.path)}`,
    ...headers,
    ...(request.body === undefined ? [] : [`wrk.body = ${lua(request.body)}`]),
    // wrk's own CPU time, read when the run is done: utime and stime, fields 14 and 15 of
    // /proc/self/stat (the 12th and 13th after the parenthesised command name).
    'function done(summary, latency, requests)',
    '  local file = io.open("/proc/self/stat")',
    '  local fields = {}',
    '  for field in file:read("*a"):match("%) (.*)"):gmatch("%S+") do fields[#fields + 1] = field end',
    '  file:close()',
    '  local e = summary.errors',
    '  io.write(string.format(\'{"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"cpuTicks":%d,"errors":%d,"status":%d}\\n\',',
    '    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), fields[12] + fields[13],',
    '    e.connect + e.read + e.write + e.timeout, e.status))',
    'end',
  ].join('\n');
  const file = path.join(wrkScripts.dir, `${crypto.createHash('sha256').update(key).digest('hex').slice(0, 16)}.lua`);
  fs.writeFileSync(file, `${script}\n`);
  wrkScripts.files.set(key, file);
  return file;
}

async function measureWithWrk(server, request, core) {
  if (!hasWrk) throw new Error('wrk is not installed: it is a prerequisite of this benchmark (Debian/Ubuntu: apt-get install wrk; see bench/README.md)');
  const script = wrkScript(request);
  const seconds = Math.max(1, Math.round(ROUND_SECONDS));
  const serverBefore = await server.cpu();
  const output = await new Promise((resolve, reject) => {
    const child = spawn(...pinned(core, 'wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', script, server.url]), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited with status ${code}: ${out}`))));
  });
  const serverAfter = await server.cpu();
  // The last line is the script's; without it wrk ran without the script (it only warns).
  const last = output.trim().split('\n').pop();
  if (!last.startsWith('{')) throw new Error(`wrk did not run its script for ${request.path}: ${output}`);
  const result = JSON.parse(last);
  if (result.errors > 0 || result.status > 0) throw new Error(`${request.path} on ${server.url}: ${result.status} responses 4xx or 5xx, ${result.errors} socket errors or timeouts (wrk)`);
  return {
    rps: result.requests / (result.durationUs / 1e6),
    p50: Math.round(result.p50Us / 10) / 100,
    p99: Math.round(result.p99Us / 10) / 100,
    seconds: result.durationUs / 1e6,
    requests: result.requests,
    clientCpuUs: (result.cpuTicks * 1e6) / clockTicks,
    generator: 'wrk',
    ...serverSide(serverBefore, serverAfter),
  };
}

/**
 * Latency at a given load: `rate` requests/s for BENCH_HTTP_ROUND_SECONDS, evenly spaced (each
 * sent at its own due time, to a few µs, not with the rest of its millisecond), over up to BENCH_HTTP_CONNECTIONS keep-alive
 * connections, by a client in a child process pinned to `core` (default every core but the
 * servers'; null leaves it unpinned). autocannon cannot do this: its rate limit lets each
 * connection send at full speed until it has made its share of the second, then wait for the
 * next second, so every second starts with a burst at saturation; wrk has no rate at all. Each
 * latency is counted from the moment the request was due, not from when a connection was free
 * to send it, so a server falling behind shows as latency (no coordinated omission). The client
 * writes each request's bytes, prepared once, on a raw socket and reads the answer's status and
 * Content-Length (every answer must have one: Koa sets it for the bodies benchmarks ask for):
 * 35–45 µs of CPU per request, so a shared core can offer 10,000 req/s (a node:http client
 * reached about 4,000).
 * @returns {Promise<Run>} as measure(), generator 'paced', rate, and offeredRps (the rate the client
 *   managed to send at), lateP99 (ms its sends ran behind schedule, p99: its own slowness) and
 *   clientWaitUs (its wait for its core)
 */
async function paced(server, { request, rate, core = generatorCores }) {
  const serverBefore = await server.cpu();
  const result = await new Promise((resolve, reject) => {
    const child = spawn(...pinned(core, process.execPath, [__filename, 'pace']), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (message) => (message.error ? reject(new Error(message.error)) : resolve(message.result)));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the paced client exited with status ${code}`)));
    child.send({ url: server.url, request, rate, seconds: ROUND_SECONDS, connections: CONNECTIONS });
  });
  const serverAfter = await server.cpu();
  if (result.failures > 0) throw new Error(`${request.path} on ${server.url}: ${result.failures} of ${result.requests} paced requests failed or were not 2xx`);
  return { ...result, generator: 'paced', rate, ...serverSide(serverBefore, serverAfter) };
}

/** The paced client itself (in its child process): see paced(). */
async function paceRequests({ url, request, rate, seconds, connections }) {
  const net = require('node:net');
  const target = new URL(url);
  const headers = Object.entries(request.headers ?? {});
  const host = headers.find(([name]) => name.toLowerCase() === 'host')?.[1] ?? target.host;
  const body = request.body ?? '';
  const head = [
    `${request.method ?? 'GET'} ${request.path} HTTP/1.1`,
    `Host: ${host}`,
    ...headers.filter(([name]) => name.toLowerCase() !== 'host').map(([name, value]) => `${name}: ${value}`),
    ...(body === '' ? [] : [`Content-Length: ${Buffer.byteLength(body)}`]),
  ];
  const bytes = Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`);

  const count = Math.max(1, Math.round(rate * seconds));
  const intervalMs = 1000 / rate;
  const latencies = [];
  const lateness = [];
  let failures = 0;
  let settled = 0;
  let lastSettled = 0;
  let protocolError = null;
  // Requests due while every connection was busy, by due time, oldest first.
  const queue = [];
  let queued = 0;
  const idle = [];
  let open = 0;
  let allSettled;
  let cannotConnect;
  const finished = new Promise((resolve, reject) => {
    allSettled = resolve;
    cannotConnect = reject;
  });

  const settle = (connection, ok) => {
    const now = performance.now();
    if (ok) latencies.push(now - connection.due);
    else failures += 1;
    connection.due = null;
    lastSettled = now;
    if (++settled === count) allSettled();
  };
  const send = (connection, due) => {
    connection.due = due;
    connection.socket.write(bytes);
  };
  const release = (connection) => {
    if (queued < queue.length) send(connection, queue[queued++]);
    else idle.push(connection);
  };
  // A connection that cannot be opened ends the run: its requests would wait forever.
  const connect = () =>
    new Promise((resolve, reject) => {
      const socket = net.connect(Number(target.port), target.hostname);
      const connection = { socket, due: null, buffered: null, end: 0, status: 0 };
      open += 1;
      socket.setNoDelay(true);
      socket.once('connect', () => resolve(connection));
      // Errors after the connection opened show as its 'close' with a request in flight.
      socket.on('error', reject);
      socket.on('close', () => {
        open -= 1;
        const at = idle.indexOf(connection);
        if (at >= 0) idle.splice(at, 1);
        if (connection.due !== null) settle(connection, false);
        // Requests waiting for a connection get a new one.
        if (queued < queue.length && settled < count) connect().then(release, cannotConnect);
      });
      socket.on('data', (chunk) => {
        const data = connection.buffered === null ? chunk : Buffer.concat([connection.buffered, chunk]);
        if (connection.end === 0) {
          const headEnd = data.indexOf('\r\n\r\n');
          if (headEnd < 0) return void (connection.buffered = data);
          const responseHead = data.toString('latin1', 0, headEnd);
          connection.status = Number(responseHead.slice(9, 12));
          const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(responseHead);
          if (length === null && connection.status !== 204 && connection.status !== 304) {
            protocolError ??= `${request.path}: an answer (status ${connection.status}) without Content-Length, which the paced client cannot read`;
            return void socket.destroy();
          }
          connection.end = headEnd + 4 + (length === null ? 0 : Number(length[1]));
        }
        if (data.length < connection.end) return void (connection.buffered = data);
        // One request at a time on a connection: the answer ends the data.
        connection.buffered = null;
        connection.end = 0;
        settle(connection, connection.status >= 200 && connection.status < 300);
        release(connection);
      });
    });

  // Every connection opened before the clock starts, used last-freed first (as a proxy's pool).
  idle.push(...(await Promise.all(Array.from({ length: connections }, connect))));
  const cpuBefore = process.cpuUsage();
  const waitBefore = runQueueWaitUs();
  const started = performance.now() + 20;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let next = 0;
  let lastSent = started;
  // Sends every request due by now, then waits for the next one's due time.
  const tick = () => {
    const now = performance.now();
    for (; next < count && started + next * intervalMs <= now; next++) {
      const due = started + next * intervalMs;
      lateness.push(now - due);
      const connection = idle.pop() ?? null;
      if (connection !== null) send(connection, due);
      else {
        queue.push(due);
        // A connection the server closed while idle is replaced.
        if (open < connections) connect().then(release, cannotConnect);
      }
      lastSent = now;
    }
    if (next >= count) return;
    // The next request is sent at its own due time, not with the rest of its millisecond (a
    // timer's resolution): under 1.5 ms away, the thread sleeps on a futex until then (the core
    // stays free for the others) and goes back through the event loop's poll phase (answers are
    // read) before sending.
    const wait = started + next * intervalMs - performance.now();
    if (wait >= 1.5) setTimeout(tick, Math.floor(wait));
    else {
      if (wait > 0.01) Atomics.wait(sleeper, 0, 0, wait);
      setImmediate(tick);
    }
  };
  setTimeout(tick, Math.max(0, started - performance.now()));
  await finished;
  const cpu = process.cpuUsage(cpuBefore);
  const waitAfter = runQueueWaitUs();
  for (const connection of idle) connection.socket.destroy();
  if (protocolError !== null) throw new Error(protocolError);

  const percentile = (list, p) => {
    if (list.length === 0) return 0;
    const sorted = Float64Array.from(list).sort();
    return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 100) / 100;
  };
  const runSeconds = (lastSettled - started) / 1000;
  return {
    rps: count / runSeconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    seconds: runSeconds,
    requests: count,
    failures,
    clientCpuUs: cpu.user + cpu.system,
    clientWaitUs: waitBefore === null || waitAfter === null ? null : waitAfter - waitBefore,
    // The rate the sends kept: count - 1 intervals from the first due time to the last send.
    offeredRps: count === 1 ? rate : ((count - 1) * 1000) / Math.max(lastSent - started, (count - 1) * intervalMs),
    lateP99: percentile(lateness, 99),
  };
}

/**
 * Redis's own CPU time and the commands it processed over `run()` (INFO, on the Redis every
 * benchmark uses): added to the run as redisCpuUs and redisCommands. Other clients of the same
 * Redis are counted too: the commands per request tell whether there were any.
 */
async function withRedis(run) {
  const Redis = require('ioredis');
  const client = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    const usage = async () => {
      const info = await client.info();
      const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
      return { cpuUs: (field('used_cpu_user') + field('used_cpu_sys')) * 1e6, commands: field('total_commands_processed') };
    };
    const before = await usage();
    const result = await run();
    const after = await usage();
    return { ...result, redisCpuUs: after.cpuUs - before.cpuUs, redisCommands: after.commands - before.commands - 1 };
  } finally {
    client.disconnect();
  }
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
  const has = (key) => runs.every((run) => run[key] != null);
  const seconds = sum('seconds');
  const serverSeconds = sum('serverSeconds');
  return {
    generator: runs[0].generator ?? 'autocannon',
    rps: median(runs.map((run) => run.rps)),
    minRps: Math.min(...runs.map((run) => run.rps)),
    maxRps: Math.max(...runs.map((run) => run.rps)),
    p50: median(runs.map((run) => run.p50)),
    p99: median(runs.map((run) => run.p99)),
    maxP99: Math.max(...runs.map((run) => run.p99)),
    requests: sum('requests'),
    seconds,
    serverCpu: sum('serverCpuUs') / 1e6 / serverSeconds,
    // The share of the time the server's event loop was ready to run but other processes held
    // its core (null without schedstat).
    serverWait: has('serverWaitUs') ? sum('serverWaitUs') / 1e6 / serverSeconds : null,
    clientCpu: sum('clientCpuUs') / 1e6 / seconds,
    // Unlike a rate, CPU time per request moves less when other jobs take turns on the server's
    // core: it tells a slow server from a busy machine.
    cpuPerRequestUs: sum('serverCpuUs') / sum('serverRequests'),
    clientCpuPerRequestUs: sum('clientCpuUs') / sum('requests'),
    // The paced client's wait for its core, as serverWait (null for the other generators).
    clientWait: has('clientWaitUs') ? sum('clientWaitUs') / 1e6 / seconds : null,
    // Paced runs: the rate asked, the rate the client managed to send at, and how far behind
    // schedule it ran.
    rate: has('rate') ? median(runs.map((run) => run.rate)) : null,
    offeredRps: has('offeredRps') ? median(runs.map((run) => run.offeredRps)) : null,
    lateP99: has('lateP99') ? median(runs.map((run) => run.lateP99)) : null,
    // withRedis(): Redis's CPU time per request, and its commands per request (all clients).
    redisCpuPerRequestUs: has('redisCpuUs') ? sum('redisCpuUs') / sum('serverRequests') : null,
    redisCommandsPerRequest: has('redisCommands') ? sum('redisCommands') / sum('serverRequests') : null,
  };
}

const int = (n) => Math.round(n).toLocaleString('en-US');
const percent = (fraction) => `${Math.round(fraction * 100)} %`;

/** Above this share of a core, a process is taken as saturated. */
const SATURATED = 0.85;

/**
 * What limited a case's figure, in a sentence for its note: Tessera (the server's own CPU time
 * per request, its core saturated) or the machine (the load generator saturated, or other
 * processes holding the server's core). For paced runs (`rate`, by default the rate the runs
 * asked for): whether the client sent at that rate and the server kept up with it.
 */
function limitOf(s, rate = s.rate ?? undefined) {
  const waited = s.serverWait !== null && s.serverWait >= 0.05 ? `, and waited ${percent(s.serverWait)} of the time for it while other processes held it` : '';
  if (rate !== undefined) {
    if (s.offeredRps !== null && s.offeredRps < 0.95 * rate) {
      return `limited by the machine: the paced client sent only ${int(s.offeredRps)} of the ${int(rate)} req/s asked (its CPU ${percent(s.clientCpu)}, sends late by up to ${s.lateP99} ms at p99)`;
    }
    if (s.rps >= 0.95 * rate) return `not limited: the client sent ${int(rate)} req/s and the server kept up, its core ${percent(s.serverCpu)} busy${waited}`;
    // More than one core's worth of work asked: no machine would let one process keep up.
    const cores = (rate * s.cpuPerRequestUs) / 1e6;
    if (cores >= SATURATED) {
      return `limited by Tessera's cost: ${int(rate)} req/s at ${int(s.cpuPerRequestUs)} µs CPU/request is ${cores.toFixed(1)} cores at 100 %, more than one server process has${
        s.serverWait !== null && s.serverWait >= 0.05 ? `; it also waited ${percent(s.serverWait)} of the time for its core while other processes held it (the machine)` : ''
      }`;
    }
  }
  if (s.serverCpu >= SATURATED) {
    // An unpinned server (thread-pool work on other cores) can be busy for more than one core.
    const busy = s.serverCpu > 1.05 ? `the server, free to use every core, was busy for ${percent(s.serverCpu)} of one core's time` : `the server's one core was ${percent(s.serverCpu)} busy`;
    return `limited by Tessera's cost: ${busy} at ${int(s.cpuPerRequestUs)} µs CPU/request${waited}`;
  }
  if (s.clientCpu >= SATURATED) return `limited by the machine: the load generator (${s.generator}) used ${percent(s.clientCpu)} of a core`;
  if (s.clientWait !== null && s.clientCpu + s.clientWait >= SATURATED) {
    return `limited by the machine: the load generator's core was ${percent(s.clientCpu)} busy with it and held by other processes ${percent(s.clientWait)} of the time`;
  }
  if (s.serverWait !== null && s.serverCpu + s.serverWait >= SATURATED) {
    return `limited by the machine: the server's core was ${percent(s.serverCpu)} busy with it and held by other processes ${percent(s.serverWait)} of the time`;
  }
  const held = [s.serverWait, s.clientWait].some((wait) => wait !== null && wait >= 0.1)
    ? `other processes held the server's core ${percent(s.serverWait ?? 0)} and the generator's ${s.clientWait === null ? '(not measured)' : percent(s.clientWait)} of the time`
    : 'waits elsewhere (Redis, other processes on the generator’s core)';
  return `limited by the machine: neither the server (${percent(s.serverCpu)} of its core) nor the generator (${percent(s.clientCpu)}) was saturated; ${held}`;
}

/**
 * A row's note: the spread over the rounds, latency, where the CPU went and what limited the
 * figure (limitOf); with the per-round ratios and the baseline's figures, the spread of the
 * ratio and the same ratio in CPU time per request (which other jobs on the machine disturb less
 * than rates).
 */
function describe(s, ratioList, baseline) {
  const spread = ratioList ? `, ratio ${Math.min(...ratioList).toFixed(3)}–${Math.max(...ratioList).toFixed(3)}` : '';
  const byCpu = baseline ? `, ${(baseline.cpuPerRequestUs / s.cpuPerRequestUs).toFixed(3)} × the baseline's` : '';
  const wait = s.serverWait === null ? '' : ` (waited for its core ${percent(s.serverWait)})`;
  const clientWait = s.clientWait === null ? '' : ` (waited for its core ${percent(s.clientWait)})`;
  const ms = (value) => Math.round(value * 100) / 100;
  return (
    `rounds ${int(s.minRps)}–${int(s.maxRps)} req/s${spread}; p50 ${ms(s.p50)} ms, p99 ${ms(s.p99)} ms (worst round ${ms(s.maxP99)} ms); ` +
    `CPU: server ${percent(s.serverCpu)}${wait} = ${int(s.cpuPerRequestUs)} µs/request${byCpu}, ${s.generator} ${percent(s.clientCpu)}${clientWait} = ${int(s.clientCpuPerRequestUs)} µs/request; ` +
    limitOf(s)
  );
}

const generatorPlacement = {
  autocannon: 'autocannon in the runner (unpinned)',
  wrk: `wrk (1 thread) ${canPin ? `pinned to core ${generatorCores}` : 'unpinned'}`,
  paced: `the paced client ${canPin ? `pinned to core ${generatorCores}` : 'unpinned'}`,
};

/** The method, for a benchmark's context line: `generators` names the load generators it used. */
function method(generators = ['autocannon']) {
  return (
    `${canPin ? `server pinned to core ${pinnedCore}` : 'server in a child process (not pinned: no taskset)'}, ${generators.map((g) => generatorPlacement[g]).join(', ')}; ` +
    `${CONNECTIONS} connections, pipelining 1; 1 warm-up + ${ROUNDS} rounds of ${ROUND_SECONDS} s per case, medians; ` +
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

// `node bench/http-harness.js pace`: the paced client's child process (see paced()).
if (require.main === module && process.argv[2] === 'pace') {
  process.once('message', (options) => {
    paceRequests(options).then(
      // Exits at once: a connection opened late may still be open.
      (result) => process.send({ result }, () => process.exit(0)),
      (err) => process.send({ error: err instanceof Error ? err.stack : String(err) }, () => process.exit(1)),
    );
  });
}

module.exports = {
  CONNECTIONS,
  SERVER_CORE: pinnedCore,
  hasWrk,
  HUB,
  OTHER_SITES,
  ROUND_SECONDS,
  ROUNDS,
  SHOP,
  benchConfig,
  describe,
  get,
  limitOf,
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
  withRedis,
  workspace,
};
