// The hub as receiver (a site whose reverse proxy routes /shared-session/ to the hub, Host kept)
// on Redis: beacon accept, warm and cold loader.js, each beside its baseline from the same run.
//
// Targets (issue "Cross-domain handoff", benchmark section):
//   beacon accept  >= 8,000 req/s on one core (4 × django-shared-session's accept rate here);
//                  its ratio to bare Koa is printed for reference
//   warm loader    >= 0.5 × bare Koa
//   cold loader    >= 0.9 × the signing limit: a cold loader with 5 sites mints 5 tokens, so
//                  its limit is (raw RSA-2048 signatures/s, one thread) ÷ 5. The issue allows
//                  signing off the main thread ("node's async crypto.sign runs on the thread
//                  pool"), so the target row is a second hub instance on the same stores with
//                  every core the machine has (it signs the five tokens on libuv's pool, see
//                  `mintBeacons`), its signing limit measured on its own main thread; the
//                  one-core instance's cold loader (five signatures inline) is printed beside it
//
// Requests are what a browser sends to https://shop.example.net (Host header), Referer the
// hub's fan-out page:
//   accept   GET /shared-session/<token>.js, each with a fresh token for a live session, minted
//            beforehand by the hub's own mintForSite → mintHandoff over the server's keys
//            (worker threads, one per core). No site cookie, so each is a full accept: verify
//            (cached key), the jti and the site link in one Redis script, Set-Cookie, the
//            `session_replaced` event, two log lines. Rounds are counted, not timed: the warm-up
//            round spends a pool of WARMUP_TOKENS, each kept round a pool sized from the
//            warm-up's rate; a reused token would be a 400 and fail the benchmark.
//   loader   GET /shared-session/loader.js with the shop's cookie: warm = the session is linked
//            to all six sites (empty body, nothing minted); cold = linked to the shop only
//            (five beacons minted per request; the loader never links, so it stays cold).
//   bare Koa the same requests (a distinct beacon-shaped path each, same headers) to a hello app.
// Raw signing is measured in the server process, on its core, in each round just before the
// cold loader. Method (rounds, medians, per-round ratios): bench/http-harness.js.
'use strict';

const crypto = require('node:crypto');
const harness = require('./http-harness');

const SITE_HOST = new URL(harness.SHOP).host;
const COOKIE = 'tessera_session';
const headers = { host: SITE_HOST, referer: `${harness.HUB}/` };
/** Warm-up pool of accept tokens (about a second at the target rate). */
const WARMUP_TOKENS = 8000;
/** autocannon may build a request per connection that it never sends: tokens to spare. */
const SPARE_TOKENS = 2 * harness.CONNECTIONS;

/** Requests that each take the next path of `paths`; a path used twice would be a replay. */
function feed(paths) {
  let next = 0;
  return { method: 'GET', path: paths[0], headers, setupRequest: (req) => ({ ...req, path: paths[next++ % paths.length] }) };
}

const beaconPath = (token) => `/shared-session/${token}.js`;

/** Beacon-shaped paths for the bare Koa baseline: random tokens as long as a real one. */
function fakeBeaconPaths(tokenLength, count) {
  return Array.from({ length: count }, () => beaconPath(crypto.randomBytes(Math.ceil((tokenLength * 3) / 4)).toString('base64url').slice(0, tokenLength)));
}

/**
 * Beacon accepts with a fresh token each, as a case of harness.rounds: the warm-up round spends
 * a pool of WARMUP_TOKENS; its rate sizes the pools of the kept rounds (about
 * BENCH_HTTP_ROUND_SECONDS each), minted at the start of the first kept round, all at once.
 */
function acceptCase(server, ws, holder) {
  const mint = async (count) => (await harness.mintTokens(ws, holder, harness.SHOP, count)).map(beaconPath);
  let warmupRate = 0;
  let pools = null;
  let perRound = 0;
  return {
    name: 'accept',
    run: async (round) => {
      if (round === 0) {
        const result = await harness.measure(server, { request: feed(await mint(WARMUP_TOKENS + SPARE_TOKENS)), amount: WARMUP_TOKENS });
        warmupRate = result.rps;
        return result;
      }
      if (pools === null) {
        perRound = Math.max(harness.CONNECTIONS, Math.ceil(warmupRate * harness.ROUND_SECONDS));
        const all = await mint(harness.ROUNDS * (perRound + SPARE_TOKENS));
        pools = Array.from({ length: harness.ROUNDS }, (_, i) => all.slice(i * (perRound + SPARE_TOKENS), (i + 1) * (perRound + SPARE_TOKENS)));
      }
      return harness.measure(server, { request: feed(pools[round - 1]), amount: perRound });
    },
  };
}

async function run() {
  const ws = harness.workspace();
  const servers = [];
  try {
    const hub = await harness.startServer({
      app: 'hub',
      store: 'redis',
      ...ws,
      sessions: ['beacon', 'warm', 'cold'],
      links: { warm: [harness.SHOP, ...harness.OTHER_SITES], cold: [harness.SHOP] },
    });
    servers.push(hub);
    const koa = await harness.startServer({ app: 'koa' });
    servers.push(koa);
    // The same stores and keys, not pinned: what a hub on this whole machine does with a cold
    // loader (signatures on the thread pool, in parallel).
    const wide = await harness.startServer({ app: 'hub', store: 'redis', ...ws, sessions: [], join: true }, { core: null });
    servers.push(wide);
    const { user, sessions } = hub.fixtures;
    const loaderRequest = (name) => harness.get('/shared-session/loader.js', { ...headers, cookie: `${COOKIE}=${sessions[name].siteCookies[harness.SHOP]}` });

    // Prove each case answers what it should before measuring it.
    const holder = { record: { sid: sessions.beacon.sid }, user };
    const [sample] = await harness.mintTokens(ws, holder, harness.SHOP, 1);
    const accepted = await harness.probe(hub.url, beaconPath(sample), headers);
    if (accepted.status !== 200 || !String(accepted.headers['set-cookie']).startsWith(`${COOKIE}=`)) {
      throw new Error(`a beacon was not accepted (status ${accepted.status})`);
    }
    const warmProbe = await harness.probe(hub.url, '/shared-session/loader.js', loaderRequest('warm').headers);
    if (warmProbe.status !== 200 || warmProbe.body !== '') throw new Error(`warm loader.js is not empty (status ${warmProbe.status})`);
    for (const server of [hub, wide]) {
      const coldProbe = await harness.probe(server.url, '/shared-session/loader.js', loaderRequest('cold').headers);
      if (coldProbe.status !== 200 || !harness.OTHER_SITES.every((origin) => coldProbe.body.includes(new URL(origin).host))) {
        throw new Error(`cold loader.js does not carry five beacons (status ${coldProbe.status})`);
      }
    }

    // The accept case goes first in each round: the first kept round starts by minting.
    const runs = await harness.rounds([
      acceptCase(hub, ws, holder),
      { name: 'koa', server: koa, options: { request: feed(fakeBeaconPaths(sample.length, 100_000)) } },
      { name: 'warm loader', server: hub, options: { request: loaderRequest('warm') } },
      { name: 'raw sign', run: () => hub.rawSign(harness.ROUND_SECONDS * 1000) },
      { name: 'cold loader', server: hub, options: { request: loaderRequest('cold') } },
      { name: 'raw sign, all cores', run: () => wide.rawSign(harness.ROUND_SECONDS * 1000) },
      { name: 'cold loader, all cores', server: wide, options: { request: loaderRequest('cold') } },
    ]);

    const baseline = 'bare Koa, beacon-shaped GETs';
    const koaFigures = harness.summary(runs.koa);
    const vsKoa = (label, name, extra) => {
      const list = harness.ratios(runs[name], runs.koa);
      const figures = harness.summary(runs[name]);
      return { label, opsPerSecond: figures.rps, unit: 'req/s', note: harness.describe(figures, list, koaFigures), ...extra, compare: { to: baseline, ratio: harness.median(list), ...extra.compare } };
    };

    const limit = 'signing limit: raw RSA-2048 sign ÷ 5';
    const wideLimit = 'signing limit of the hub on all cores: raw RSA-2048 sign on its main thread ÷ 5';
    const signLimitRow = (label, name, where) => {
      const signs = runs[name].map((r) => r.rps);
      const cpuUs = harness.median(runs[name].map((r) => r.cpuPerSignUs));
      return {
        label,
        opsPerSecond: harness.median(signs) / 5,
        unit: 'req/s',
        note: `raw sign ${Math.round(harness.median(signs)).toLocaleString('en-US')}/s ${where} (rounds ${Math.round(Math.min(...signs))}–${Math.round(Math.max(...signs))}), ${Math.round(cpuUs)} µs of CPU each`,
      };
    };
    const coldRow = (label, name, signName, to, target) => {
      const signs = runs[signName].map((r) => r.rps);
      const signCpuUs = harness.median(runs[signName].map((r) => r.cpuPerSignUs));
      const list = harness.ratios(runs[name], signs.map((rate) => rate / 5));
      const figures = harness.summary(runs[name]);
      return {
        label,
        opsPerSecond: figures.rps,
        unit: 'req/s',
        // The same comparison in CPU time too (every thread of the server: the pool's included).
        note: `${harness.describe(figures, list)}; by CPU time ${((5 * signCpuUs) / figures.cpuPerRequestUs).toFixed(3)} × the signing limit`,
        compare: { to, ratio: harness.median(list), ...target },
      };
    };
    return {
      context: `${harness.method()}; accept: a counted pool of fresh tokens per round; Redis at 127.0.0.1:6379; hub log level info, to /dev/null`,
      rows: [
        { label: baseline, opsPerSecond: koaFigures.rps, unit: 'req/s', note: harness.describe(koaFigures) },
        vsKoa('beacon accept (hub as receiver, Redis)', 'accept', { atLeast: 8000 }),
        vsKoa('warm loader.js (nothing to mint), Redis', 'warm loader', { compare: { atLeast: 0.5 } }),
        signLimitRow(limit, 'raw sign', "on the one-core server's core"),
        coldRow('cold loader.js (5 beacons minted), Redis, one core: signed inline', 'cold loader', 'raw sign', limit, {}),
        signLimitRow(wideLimit, 'raw sign, all cores', "on the unpinned server's main thread"),
        coldRow('cold loader.js (5 beacons minted), Redis, hub on all cores: signed on the thread pool', 'cold loader, all cores', 'raw sign, all cores', wideLimit, { atLeast: 0.9 }),
      ],
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    harness.removeWorkspace(ws);
  }
}

module.exports = { title: 'hub as receiver on Redis: beacon accept, warm and cold loader.js vs bare Koa and raw signing', run };
