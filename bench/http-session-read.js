// Session reads through the hub on Redis: server time per request at a paced 10,000 req/s, the
// CPU time of a read, and one hub instance against two on the same Redis.
//
// Targets (issue "Scale-out", benchmark section):
//   session reads at 10,000 req/s, p99 <= 1 ms of server time: the row's rate is what the paced
//   client achieved when asked for 10,000/s (>= 10,000), its p99 the server time (<= 1 ms)
//
// The read: `GET /shared-session/session.json` on https://shop.example.net (a site whose reverse
// proxy routes /shared-session/ to the hub, Host kept) with the shop's site cookie, for a
// session linked to three sites: the site session read (one Redis script), the link's secret
// checked, the user read (SQLite), the identity claims as JSON. It is the hub's lightest session
// read: the site API's `POST /api/v1/sites/status` (bearer credential, JSON body, one session
// read, no user read) goes through the router and costs more CPU per request; it is measured
// beside it for that reason.
//
// Server time: the hub (and bare Koa) record each request's time from Node's 'request' event
// (headers parsed) to the response's 'finish' (bench/http-server.js, "serverTimes"): the time a
// request spends in the server's code and waiting on Redis and on its turn on the event loop;
// not the time it waited in the socket before the server read it. The paced client's own
// latency (harness.paced: from the moment a request was due) is in each note.
//
// Load generators (bench/http-harness.js): wrk at saturation (its CPU time per request is a
// tenth of autocannon's, so the spare core is not spent on the client), and the harness's paced
// client for the fixed rates. Every note says what limited its figure: Tessera's CPU time per
// request, or the machine (2 shared cores: the generator, or other processes on the hub's core).
//
// Cases, in rounds: at saturation, bare Koa (the baseline), session.json against one hub
// instance, against a second alone and against both, and the status API; then bare Koa and
// session.json paced at 10,000 req/s (bare Koa shows whether the client can offer that rate
// here), and session.json at half the rate one instance reached in that round. The scaling
// cases: the first instance (pinned to the last core, wrk on core 0), the second (pinned to core
// 0, wrk on the last core), then both at once on the same Redis, each loaded by its own wrk
// (unpinned: no core is free). With two cores the instances then share their cores with both
// wrk processes and Redis, so the pair's total rate says what this machine gets from a second
// process; each instance's CPU time per read, alone and beside the other, says what a second
// core would give (see bench/README.md).
'use strict';

const harness = require('./http-harness');

const TARGET_RATE = 10_000;
const SITE_HOST = new URL(harness.SHOP).host;
const CREDENTIAL = 'bench-site-credential-0123456789abcdef0123';

/** A case that runs `measure` and appends the server times recorded during it to the run. */
function timed(server, measure) {
  return async () => {
    await server.serverTimes();
    const result = await measure();
    return { ...result, serverTimes: await server.serverTimes() };
  };
}

/** Two runs at the same time, as one: rates, counts and CPU times added, the worse latencies. */
function combined(a, b) {
  const add = (key) => (a[key] == null || b[key] == null ? null : a[key] + b[key]);
  return {
    rps: a.rps + b.rps,
    p50: Math.max(a.p50, b.p50),
    p99: Math.max(a.p99, b.p99),
    seconds: Math.max(a.seconds, b.seconds),
    requests: a.requests + b.requests,
    generator: a.generator,
    // Two wrk processes: their CPU time added, over the run's time (so above 100 % is possible).
    clientCpuUs: a.clientCpuUs + b.clientCpuUs,
    serverCpuUs: a.serverCpuUs + b.serverCpuUs,
    serverRequests: a.serverRequests + b.serverRequests,
    serverSeconds: a.serverSeconds + b.serverSeconds,
    serverWaitUs: add('serverWaitUs'),
    instances: [a, b],
  };
}

/** CPU time per request and the share of its core used and waited for, of one instance over the rounds. */
function instanceFigures(runs) {
  const sum = (key) => runs.reduce((total, run) => total + run[key], 0);
  return {
    rps: harness.median(runs.map((run) => run.rps)),
    cpuPerRequestUs: sum('serverCpuUs') / sum('serverRequests'),
    busy: sum('serverCpuUs') / 1e6 / sum('serverSeconds'),
    wait: runs.every((run) => run.serverWaitUs != null) ? sum('serverWaitUs') / 1e6 / sum('serverSeconds') : null,
  };
}

/** Requests per second one fully busy hub core serves, per round, from the run's CPU time. */
const perCore = (run) => (1e6 * run.serverRequests) / run.serverCpuUs;

const ms = (us) => Math.round(us / 10) / 100;
const round = (value) => Math.round(value * 100) / 100;
const int = (n) => Math.round(n).toLocaleString('en-US');
const pct = (fraction) => (fraction === null ? '?' : `${Math.round(fraction * 100)} %`);

async function run() {
  const ws = { ...harness.workspace(), siteCredential: CREDENTIAL };
  const servers = [];
  const launch = async (scenario, options) => {
    const server = await harness.startServer(scenario, options);
    servers.push(server);
    return server;
  };
  try {
    const koa = await launch({ app: 'koa', serverTimes: true });
    const hub = await launch({ app: 'hub', store: 'redis', ...ws, sessions: ['reader'], links: { reader: [harness.SHOP, ...harness.OTHER_SITES.slice(0, 2)] }, serverTimes: true });
    const second = await launch({ app: 'hub', store: 'redis', ...ws, sessions: [], join: true }, { core: 0 });
    const { sessions } = hub.fixtures;
    const read = harness.get('/shared-session/session.json', { host: SITE_HOST, cookie: `tessera_session=${sessions.reader.siteCookies[harness.SHOP]}` });
    const status = {
      method: 'POST',
      path: '/api/v1/sites/status',
      headers: { authorization: `Bearer ${CREDENTIAL}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sid: sessions.reader.sid }),
    };

    // Prove each case answers what it should before measuring it.
    for (const server of [hub, second]) {
      const probe = await harness.probe(server.url, read.path, read.headers);
      if (probe.status !== 200 || JSON.parse(probe.body).sid !== sessions.reader.sid) throw new Error(`session.json did not answer the session (status ${probe.status})`);
    }
    const statusProbe = await fetch(`${hub.url}${status.path}`, { method: 'POST', headers: status.headers, body: status.body });
    const statusBody = await statusProbe.text();
    if (statusProbe.status !== 200 || statusBody !== '{"active":true}') throw new Error(`the status API did not answer active (status ${statusProbe.status}: ${statusBody})`);

    const wrk = (server, request, core) => harness.measure(server, { request, generator: 'wrk', ...(core === undefined ? {} : { core }) });
    let readRate = 0;
    const runs = await harness.rounds([
      { name: 'koa', run: () => wrk(koa, harness.get('/')) },
      {
        name: 'read',
        run: async () => {
          const result = await harness.withRedis(() => wrk(hub, read));
          readRate = result.rps;
          return result;
        },
      },
      // The second instance alone, its wrk on the first's (idle) core: the like-for-like
      // reference for what it does beside the first.
      { name: 'second alone', run: () => harness.withRedis(() => wrk(second, read, harness.SERVER_CORE)) },
      { name: 'two instances', run: () => harness.withRedis(async () => combined(...(await Promise.all([wrk(hub, read, null), wrk(second, read, null)])))) },
      { name: 'status', run: () => wrk(hub, status) },
      { name: 'koa paced', run: timed(koa, () => harness.paced(koa, { request: harness.get('/'), rate: TARGET_RATE })) },
      { name: 'read paced', run: timed(hub, () => harness.paced(hub, { request: read, rate: TARGET_RATE })) },
      { name: 'read half', run: timed(hub, () => harness.paced(hub, { request: read, rate: readRate / 2 })) },
    ]);

    const koaFigures = harness.summary(runs.koa);
    const baseline = 'bare Koa hello';
    const median = (name, key) => harness.median(runs[name].map((r) => r.serverTimes[key]));
    const pacedRow = (label, name, extra = {}, cost = '') => {
      const figures = harness.summary(runs[name]);
      return {
        label,
        opsPerSecond: figures.rps,
        unit: 'req/s',
        summary: `server time p50 ${ms(median(name, 'p50Us'))} ms, p99 ${ms(median(name, 'p99Us'))} ms`,
        note:
          `server time (median of rounds): p50 ${ms(median(name, 'p50Us'))} ms, p99 ${ms(median(name, 'p99Us'))} ms, p99.9 ${ms(median(name, 'p999Us'))} ms, worst round's p99 ${ms(Math.max(...runs[name].map((r) => r.serverTimes.p99Us)))} ms; ` +
          `client sent ${int(figures.offeredRps)} req/s (sends late by ${round(figures.lateP99)} ms at p99), latency from due time p50 ${round(figures.p50)} ms, p99 ${round(figures.p99)} ms; ` +
          `server CPU ${pct(figures.serverCpu)} (waited for its core ${pct(figures.serverWait)}) = ${int(figures.cpuPerRequestUs)} µs/request, client ${pct(figures.clientCpu)} (waited ${pct(figures.clientWait)}) = ${int(figures.clientCpuPerRequestUs)} µs/request; ` +
          harness.limitOf(figures) +
          (cost ? `; ${cost}` : ''),
        p99: { ms: ms(median(name, 'p99Us')) },
        ...extra,
      };
    };
    const readFigures = harness.summary(runs.read);
    const pairFigures = harness.summary(runs['two instances']);
    const statusFigures = harness.summary(runs.status);
    const halfRate = harness.median(runs['read half'].map((r) => r.rate));
    const scale = harness.ratios(runs['two instances'], runs.read);
    const firstAlone = instanceFigures(runs.read);
    const otherAlone = instanceFigures(runs['second alone']);
    const first = instanceFigures(runs['two instances'].map((r) => r.instances[0]));
    const other = instanceFigures(runs['two instances'].map((r) => r.instances[1]));
    // Per round: both instances' requests over their CPU time, each alone, then side by side.
    const alonePerCore = runs.read.map((r, i) => perCore(combined(r, runs['second alone'][i])));
    const twoPerCore = runs['two instances'].map(perCore);
    const perCoreRatios = twoPerCore.map((value, i) => value / alonePerCore[i]);
    const redis = (s) => `Redis ${int(s.redisCpuPerRequestUs)} µs CPU/request (${s.redisCommandsPerRequest.toFixed(1)} commands/request, other clients of this Redis included)`;
    const instance = (label, f) => `${label} ${int(f.rps)} req/s at ${int(f.cpuPerRequestUs)} µs CPU/request, its core ${pct(f.busy)} busy, held by others ${pct(f.wait)}`;
    const cost = (label, alone, beside) => `${label} ${int(alone.cpuPerRequestUs)} µs CPU/request alone (core held by others ${pct(alone.wait)}), ${int(beside.cpuPerRequestUs)} µs beside the other (${pct(beside.wait)})`;
    const readCores = (TARGET_RATE * readFigures.cpuPerRequestUs) / 1e6;
    return {
      context: `${harness.method(['wrk', 'paced'])}; session.json on Redis at 127.0.0.1:6379; second instance pinned to core 0, its wrk and the first's unpinned; hub log level info, to /dev/null`,
      rows: [
        { label: baseline, opsPerSecond: koaFigures.rps, unit: 'req/s', note: harness.describe(koaFigures) },
        {
          label: 'session.json (site session + user read), Redis',
          opsPerSecond: readFigures.rps,
          unit: 'req/s',
          summary: `${int(readFigures.cpuPerRequestUs)} µs CPU/request`,
          note: `${harness.describe(readFigures, harness.ratios(runs.read, runs.koa), koaFigures)}; ${redis(readFigures)}`,
          compare: { to: baseline, ratio: harness.median(harness.ratios(runs.read, runs.koa)) },
        },
        {
          label: 'POST /api/v1/sites/status (site API), Redis',
          opsPerSecond: statusFigures.rps,
          unit: 'req/s',
          summary: `${int(statusFigures.cpuPerRequestUs)} µs CPU/request`,
          note: harness.describe(statusFigures, harness.ratios(runs.status, runs.koa), koaFigures),
          compare: { to: baseline, ratio: harness.median(harness.ratios(runs.status, runs.koa)) },
        },
        pacedRow('bare Koa hello, paced at 10,000 req/s', 'koa paced'),
        pacedRow(
          'session.json, paced at 10,000 req/s',
          'read paced',
          { atLeast: TARGET_RATE, p99: { ms: ms(median('read paced', 'p99Us')), atMost: 1 } },
          // Whatever the machine, one hub process cannot meet the target: say so with the figures.
          `at the ${int(readFigures.cpuPerRequestUs)} µs CPU/request measured at saturation it is ${readCores.toFixed(1)} cores at 100 % ` +
            `(a core gives each of 10,000 requests 100 µs; bare Koa takes ${int(koaFigures.cpuPerRequestUs)} µs): the target needs several hub instances (see the per-core rows)`,
        ),
        pacedRow(`session.json, paced at half its rate (${int(halfRate)} req/s)`, 'read half'),
        {
          label: 'session.json, two hub instances on one Redis',
          opsPerSecond: pairFigures.rps,
          unit: 'req/s',
          summary: `${int(pairFigures.cpuPerRequestUs)} µs CPU/request`,
          note:
            `rounds ${int(pairFigures.minRps)}–${int(pairFigures.maxRps)} req/s, ratio ${Math.min(...scale).toFixed(3)}–${Math.max(...scale).toFixed(3)}; ` +
            `${instance('first (core 1)', first)}; ${instance('second (core 0)', other)}; ` +
            `two wrk ${pct(pairFigures.clientCpu)} of a core; ${redis(pairFigures)}; limited by the machine: 2 cores for 2 hubs, 2 wrk and Redis`,
          compare: { to: 'session.json (site session + user read), Redis', ratio: harness.median(scale) },
        },
        {
          label: 'session.json, req/s per busy hub core, each instance alone',
          opsPerSecond: harness.median(alonePerCore),
          unit: 'req/s',
          summary: `1e6 ÷ CPU µs/request (first ${int(firstAlone.cpuPerRequestUs)}, second ${int(otherAlone.cpuPerRequestUs)})`,
          note:
            `the reads one fully busy core serves, from each instance's CPU time alone (the first on core ${harness.SERVER_CORE} with wrk on core 0, the second on core 0 with wrk on core ${harness.SERVER_CORE}); ` +
            `10,000 reads/s at the first's cost is ${readCores.toFixed(1)} hub cores at 100 % (about ${Math.ceil(readCores * 2)} at the ≤ 50 % load that keeps queueing short), ` +
            `plus ${((TARGET_RATE * readFigures.redisCpuPerRequestUs) / 1e6).toFixed(2)} of a Redis core at ${int(readFigures.redisCpuPerRequestUs)} µs/request`,
        },
        {
          label: 'session.json, req/s per busy hub core, two instances at once',
          opsPerSecond: harness.median(twoPerCore),
          unit: 'req/s',
          summary: `1e6 ÷ ${int(pairFigures.cpuPerRequestUs)} µs CPU/request`,
          note:
            `ratio ${Math.min(...perCoreRatios).toFixed(3)}–${Math.max(...perCoreRatios).toFixed(3)}: what running side by side on one Redis costs each read; ` +
            `${cost('first', firstAlone, first)}; ${cost('second', otherAlone, other)}; ` +
            'near 1, a second instance on a free core of its own adds a core’s worth of reads as long as Redis keeps up; below 1, the instances (or the machine’s other processes) slowed each other',
          compare: { to: 'session.json, req/s per busy hub core, each instance alone', ratio: harness.median(perCoreRatios) },
        },
      ],
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    harness.removeWorkspace(ws);
  }
}

module.exports = { title: 'session reads through the hub on Redis: server time at 10,000 req/s, one and two instances', run };
