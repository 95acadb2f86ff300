// Session reads through the hub on Redis: server time per request at a paced 10,000 req/s, the
// CPU time of a read, and one hub instance against two on the same Redis.
//
// Targets (issue "Scale-out", benchmark section):
//   session reads at 10,000 req/s, p99 <= 1 ms of server time: the row's rate is what the paced
//   client achieved when asked for 10,000/s (>= 10,000), its p99 the server time (<= 1 ms)
//
// The read: `GET /shared-session/session.json` on https://shop.example.net (a site whose reverse
// proxy routes /shared-session/ to the hub, Host kept) with the shop's site cookie, for a
// session linked to three sites: the site session read (two HGETALLs, autopipelined), the
// link's secret checked, the user read (SQLite), the identity claims as JSON. It is the hub's
// lightest session read: the site API's `POST /api/v1/sites/status` (bearer credential, JSON
// body, one session read, no user read) goes through the router and costs more CPU per request;
// it is measured beside it for that reason.
//
// Server time: the hub (and bare Koa) record each request's time from Node's 'request' event
// (headers parsed) to the response's 'finish' (bench/http-server.js, "serverTimes"): the time a
// request spends in the server's code and waiting on Redis and on its turn on the event loop;
// not the time it waited in the socket before the server read it. The paced client's own
// latency (harness.paced: from the moment a request was due) is in each note.
//
// Cases, in rounds (bench/http-harness.js): at saturation, bare Koa, session.json and the
// status API, for CPU time per request; then bare Koa and session.json paced at 10,000 req/s,
// and session.json paced at half the rate one core gave it in that round (its latency at a load
// one core can carry); then the scaling pair: session.json at saturation against one hub
// instance (pinned to the last core), and against two instances on the same Redis, the second
// pinned to core 0, each loaded by its own autocannon run with the usual connections, at the
// same time. The client (this process) and Redis are not pinned: with two cores, the second
// instance shares core 0 with them, so the two-instance figure says what this machine gets from
// a second process, not what a second core gives (see bench/README.md).
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

/** Two runs at the same time, as one: rates and counts added, the worse latencies. */
function combined(a, b) {
  return {
    rps: a.rps + b.rps,
    p50: Math.max(a.p50, b.p50),
    p99: Math.max(a.p99, b.p99),
    seconds: Math.max(a.seconds, b.seconds),
    requests: a.requests + b.requests,
    // One client process ran both: either run's reading is the whole client.
    clientCpuUs: a.clientCpuUs,
    serverCpuUs: a.serverCpuUs + b.serverCpuUs,
    serverRequests: a.serverRequests + b.serverRequests,
    serverSeconds: a.serverSeconds + b.serverSeconds,
    shares: [a.rps, b.rps],
  };
}

const ms = (us) => Math.round(us / 10) / 100;
const int = (n) => Math.round(n).toLocaleString('en-US');

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

    let readRate = 0;
    const runs = await harness.rounds([
      { name: 'koa', server: koa, options: { request: harness.get('/') } },
      {
        name: 'read',
        run: async () => {
          const result = await harness.measure(hub, { request: read });
          readRate = result.rps;
          return result;
        },
      },
      { name: 'status', server: hub, options: { request: status } },
      { name: 'koa paced', run: timed(koa, () => harness.paced(koa, { request: harness.get('/'), rate: TARGET_RATE })) },
      { name: 'read paced', run: timed(hub, () => harness.paced(hub, { request: read, rate: TARGET_RATE })) },
      { name: 'read half', run: timed(hub, () => harness.paced(hub, { request: read, rate: readRate / 2 })) },
      { name: 'one instance', server: hub, options: { request: read } },
      { name: 'two instances', run: async () => combined(...(await Promise.all([harness.measure(hub, { request: read }), harness.measure(second, { request: read })]))) },
    ]);

    const koaFigures = harness.summary(runs.koa);
    const baseline = 'bare Koa hello';
    const median = (name, key) => harness.median(runs[name].map((r) => r.serverTimes[key]));
    const pacedRow = (label, name, extra = {}) => {
      const figures = harness.summary(runs[name]);
      return {
        label,
        opsPerSecond: figures.rps,
        unit: 'req/s',
        summary: `server time p50 ${ms(median(name, 'p50Us'))} ms, p99 ${ms(median(name, 'p99Us'))} ms`,
        note:
          `server time (median of rounds): p50 ${ms(median(name, 'p50Us'))} ms, p99 ${ms(median(name, 'p99Us'))} ms, p99.9 ${ms(median(name, 'p999Us'))} ms, worst round's p99 ${ms(Math.max(...runs[name].map((r) => r.serverTimes.p99Us)))} ms; ` +
          `client latency p50 ${figures.p50} ms, p99 ${figures.p99} ms; server CPU ${Math.round(figures.serverCpu * 100)} % = ${int(figures.cpuPerRequestUs)} µs/request, client ${Math.round(figures.clientCpu * 100)} %`,
        p99: { ms: ms(median(name, 'p99Us')) },
        ...extra,
      };
    };
    const read1 = harness.summary(runs['one instance']);
    const read2 = harness.summary(runs['two instances']);
    const scale = harness.ratios(runs['two instances'], runs['one instance']);
    const shares = runs['two instances'].map((r) => r.shares);
    const readFigures = harness.summary(runs.read);
    const statusFigures = harness.summary(runs.status);
    const halfRate = harness.median(runs['read half'].map((r) => r.rps));
    return {
      context: `${harness.method()}; session.json on Redis at 127.0.0.1:6379; second instance pinned to core 0; hub log level info, to /dev/null`,
      rows: [
        { label: baseline, opsPerSecond: koaFigures.rps, unit: 'req/s', note: harness.describe(koaFigures) },
        {
          label: 'session.json (site session + user read), Redis',
          opsPerSecond: readFigures.rps,
          unit: 'req/s',
          summary: `${int(readFigures.cpuPerRequestUs)} µs CPU/request`,
          note: harness.describe(readFigures, harness.ratios(runs.read, runs.koa), koaFigures),
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
        pacedRow('session.json, paced at 10,000 req/s', 'read paced', { atLeast: TARGET_RATE, p99: { ms: ms(median('read paced', 'p99Us')), atMost: 1 } }),
        pacedRow(`session.json, paced at half its rate (${int(halfRate)} req/s)`, 'read half'),
        {
          label: 'session.json, one hub instance (saturation)',
          opsPerSecond: read1.rps,
          unit: 'req/s',
          summary: `${int(read1.cpuPerRequestUs)} µs CPU/request`,
          note: harness.describe(read1),
        },
        {
          label: 'session.json, two hub instances on one Redis',
          opsPerSecond: read2.rps,
          unit: 'req/s',
          summary: `${int(read2.cpuPerRequestUs)} µs CPU/request`,
          note: `${harness.describe(read2, scale)}; per instance (median of rounds) ${int(harness.median(shares.map((s) => s[0])))} + ${int(harness.median(shares.map((s) => s[1])))} req/s`,
          compare: { to: 'session.json, one hub instance (saturation)', ratio: harness.median(scale) },
        },
      ],
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    harness.removeWorkspace(ws);
  }
}

module.exports = { title: 'session reads through the hub on Redis: server time at 10,000 req/s, one and two instances', run };
