// Context, not a test: the hub's loader and accept beside django-shared-session's figures
// (issue "Cross-domain handoff": loader render 97 µs for 1 site, 360 µs for 5; accept 0.51 ms
// median through Django's test client). Rows have no target.
//
// Django's figures are one request at a time, in-process: the template tag rendering the loader
// (each site's token encrypted with a shared secret key, NaCl), and an accept through Django's
// test client (middleware and view, no socket). The nearest measures of the hub, also one
// request at a time, over one keep-alive connection on loopback to the real hub (Redis) pinned
// to one core:
//   loader   GET /shared-session/loader.js on the shop's host with its site cookie, for a
//            session lacking 1 of the other sites (one beacon minted) or all 5 (five minted);
//   accept   GET /shared-session/<token>.js with a fresh token each (minted beforehand by the
//            hub's own mintForSite), no site cookie: a full accept.
// Figures: the server time (Node's request event to the response's finish) and the client's
// round trip, medians, one request at a time; and, for the cost of each request, the server's CPU
// time per request at saturation (autocannon, BENCH_HTTP_CONNECTIONS connections, three runs of
// BENCH_HTTP_ROUND_SECONDS after one of warm-up; accepts spend a counted pool of fresh tokens per
// run). One request at a time, CPU time per
// request is 4–8 times that (every request wakes the process alone and runs on cold caches: bare
// Koa's goes from ~60 µs to ~390 µs), so it is not the figure to compare.
// Each case runs with RS256 keys (the default: an RSA-2048 signature per beacon, ~700 µs) and
// with ES256 keys (`tokens.algorithm`), since a signature is what a loader mostly costs.
// BENCH_DJANGO_REQUESTS (default 300) per case, after 30 not counted.
'use strict';

const http = require('node:http');
const { performance } = require('node:perf_hooks');
const harness = require('./http-harness');

const REQUESTS = Number(process.env.BENCH_DJANGO_REQUESTS ?? 300);
const WARMUP = 30;
const SITE_HOST = new URL(harness.SHOP).host;
const headers = { host: SITE_HOST, referer: `${harness.HUB}/` };
/** Accepts per saturated run. */
const ACCEPT_POOL = 2500;
/** Saturated runs measured per case (after one of warm-up). */
const SATURATED_RUNS = 3;

/** Requests that each take the next path of `paths` (a token spent twice would be a 400). */
function feed(paths) {
  let next = 0;
  return { method: 'GET', path: paths[0], headers, setupRequest: (req) => ({ ...req, path: paths[next++ % paths.length] }) };
}

/** `paths` requested one after another over one keep-alive connection; every answer must be 200. */
async function sequential(server, paths, requestHeaders) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const once = (pathname) =>
    new Promise((resolve, reject) => {
      const sentAt = performance.now();
      http
        .get(`${server.url}${pathname}`, { agent, headers: requestHeaders }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - sentAt) : reject(new Error(`${pathname.slice(0, 40)}…: status ${res.statusCode}`))));
        })
        .on('error', reject);
    });
  try {
    for (const pathname of paths.slice(0, WARMUP)) await once(pathname);
    await server.serverTimes();
    const before = await server.cpu();
    const latencies = [];
    for (const pathname of paths.slice(WARMUP)) latencies.push(await once(pathname));
    const after = await server.cpu();
    latencies.sort((a, b) => a - b);
    return { cpuUs: (after.cpuUs - before.cpuUs) / (after.handled - before.handled), serverTimes: await server.serverTimes(), clientP50: latencies[Math.floor(latencies.length / 2)] };
  } finally {
    agent.destroy();
  }
}

async function measureHub(algorithm) {
  const ws = { ...harness.workspace(), algorithm };
  let hub = null;
  try {
    hub = await harness.startServer({
      app: 'hub',
      store: 'redis',
      ...ws,
      sessions: ['one', 'five', 'beacon'],
      links: { one: [harness.SHOP, ...harness.OTHER_SITES.slice(1)], five: [harness.SHOP] },
      serverTimes: true,
    });
    const { user, sessions } = hub.fixtures;
    const loader = (name) => ({ ...headers, cookie: `tessera_session=${sessions[name].siteCookies[harness.SHOP]}` });
    for (const [name, beacons] of [['one', 1], ['five', 5]]) {
      const probe = await harness.probe(hub.url, '/shared-session/loader.js', loader(name));
      const found = harness.OTHER_SITES.filter((origin) => probe.body.includes(new URL(origin).host)).length;
      if (probe.status !== 200 || found !== beacons) throw new Error(`loader.js for "${name}" carries ${found} beacons, not ${beacons} (status ${probe.status})`);
    }
    const loaderPaths = Array(WARMUP + REQUESTS).fill('/shared-session/loader.js');
    const tokens = await harness.mintTokens(ws, { record: { sid: sessions.beacon.sid }, user }, harness.SHOP, WARMUP + REQUESTS);
    /** CPU time per request over SATURATED_RUNS saturated runs, after one of warm-up. */
    const saturated = async (request) => {
      await harness.measure(hub, { request });
      const runs = [];
      for (let i = 0; i < SATURATED_RUNS; i++) runs.push(await harness.measure(hub, { request }));
      return harness.summary(runs).cpuPerRequestUs;
    };
    const figures = {
      one: { ...(await sequential(hub, loaderPaths, loader('one'))), saturatedCpuUs: await saturated(harness.get('/shared-session/loader.js', loader('one'))) },
      five: { ...(await sequential(hub, loaderPaths, loader('five'))), saturatedCpuUs: await saturated(harness.get('/shared-session/loader.js', loader('five'))) },
      accept: await sequential(
        hub,
        tokens.map((token) => `/shared-session/${token}.js`),
        headers,
      ),
    };
    // A pool of fresh tokens per run (warm-up, then measured), about a second each at the rate one
    // core gave accepts in bench/http-receiver.js; spares for requests autocannon builds but never
    // sends.
    const size = ACCEPT_POOL + 2 * harness.CONNECTIONS;
    const pool = (await harness.mintTokens(ws, { record: { sid: sessions.beacon.sid }, user }, harness.SHOP, (1 + SATURATED_RUNS) * size)).map((token) => `/shared-session/${token}.js`);
    const accepts = [];
    for (let i = 0; i <= SATURATED_RUNS; i++) accepts.push(await harness.measure(hub, { request: feed(pool.slice(i * size, (i + 1) * size)), amount: ACCEPT_POOL }));
    figures.accept.saturatedCpuUs = harness.summary(accepts.slice(1)).cpuPerRequestUs;
    return figures;
  } finally {
    await hub?.stop();
    harness.removeWorkspace(ws);
  }
}

const ms = (us) => Math.round(us / 10) / 100;

async function run() {
  const figures = { RS256: await measureHub('RS256'), ES256: await measureHub('ES256') };
  const row = (label, algorithm, name, django) => {
    const f = figures[algorithm][name];
    return {
      label: `${label}, ${algorithm}`,
      opsPerSecond: f.serverTimes.p50Us / 1000,
      unit: 'ms server time p50',
      summary: `round trip p50 ${Math.round(f.clientP50 * 100) / 100} ms, ${Math.round(f.saturatedCpuUs)} µs CPU/request at saturation; django-shared-session ${django}`,
      note: `one at a time: server time p99 ${ms(f.serverTimes.p99Us)} ms, ${Math.round(f.cpuUs)} µs CPU/request`,
    };
  };
  return {
    context: `one request at a time over one keep-alive connection, ${REQUESTS} per case after ${WARMUP}, then ${SATURATED_RUNS} runs at saturation after 1; server pinned to core 1 (when taskset exists); hub on Redis at 127.0.0.1:6379, log level info, to /dev/null; load average ${require('node:os').loadavg()[0].toFixed(2)} at the end`,
    rows: ['RS256', 'ES256'].flatMap((algorithm) => [
      row('loader.js, 1 beacon minted', algorithm, 'one', '97 µs (render)'),
      row('loader.js, 5 beacons minted', algorithm, 'five', '360 µs (render)'),
      row('beacon accept', algorithm, 'accept', '0.51 ms median (test client)'),
    ]),
  };
}

module.exports = { title: 'context: loader.js and accept one at a time, beside django-shared-session (no targets)', run };
