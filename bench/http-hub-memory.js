// The hub's memory under load: the peak resident set size of the hub server process (Redis
// sessions) while it serves signed-in /account pages, then beacon accepts, at saturation.
//
// Target (issue "Scale-out", benchmark section): hub RSS <= 150 MiB under load.
//
// The server is bench/http-server.js's real hub (see bench/README.md, "The HTTP benchmarks:
// method"), pinned to one core. Its peak RSS is the kernel's VmHWM from /proc/<pid>/status,
// reset to the current RSS (/proc/self/clear_refs) after start-up and between the phases, so
// each row is the peak during its own load:
//   at rest   after start-up and one request of each kind (every module loaded, keys read);
//   /account  GET /account with a valid __Host-tessera cookie, 1 warm-up + BENCH_HTTP_ROUNDS
//             runs of BENCH_HTTP_ROUND_SECONDS at BENCH_HTTP_CONNECTIONS connections;
//   accept    GET /shared-session/<token>.js on the shop's host with a fresh token each (minted
//             beforehand in worker threads of this process by the hub's own mintForSite), as
//             many as the /account phase served, in the same number of runs.
// The V8 heap in use after each phase is in its note.
'use strict';

const harness = require('./http-harness');

const MIB = 1024;
const SITE_HOST = new URL(harness.SHOP).host;
const headers = { host: SITE_HOST, referer: `${harness.HUB}/` };

/** Requests that each take the next path of `paths` (a token spent twice would be a 400). */
function feed(paths) {
  let next = 0;
  return { method: 'GET', path: paths[0], headers, setupRequest: (req) => ({ ...req, path: paths[next++ % paths.length] }) };
}

const mib = (kib) => kib / MIB;

async function run() {
  const ws = harness.workspace();
  let hub = null;
  try {
    hub = await harness.startServer({ app: 'hub', store: 'redis', ...ws, sessions: ['browser', 'beacon'] });
    const { user, sessions } = hub.fixtures;
    const cookie = `__Host-tessera=${sessions.browser.hubCookie}`;
    const holder = { record: { sid: sessions.beacon.sid }, user };
    const account = await harness.probe(hub.url, '/account', { cookie });
    if (account.status !== 200 || !account.body.includes(user.email)) throw new Error(`GET /account did not answer a signed-in page (status ${account.status})`);
    const [sample] = await harness.mintTokens(ws, holder, harness.SHOP, 1);
    const accepted = await harness.probe(hub.url, `/shared-session/${sample}.js`, headers);
    if (accepted.status !== 200) throw new Error(`a beacon was not accepted (status ${accepted.status})`);

    const atRest = await hub.memory({ resetPeak: true });

    const accountRuns = [];
    for (let round = 0; round <= harness.ROUNDS; round++) accountRuns.push(await harness.measure(hub, { request: harness.get('/account', { cookie }) }));
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
      acceptRuns.push(await harness.measure(hub, { request: feed(pool), amount: perRun }));
    }
    const afterAccept = await hub.memory();
    const acceptFigures = harness.summary(acceptRuns.slice(1));

    const heap = (memory) => `V8 heap in use ${(memory.heapUsed / 2 ** 20).toFixed(1)} MiB, RSS now ${mib(memory.vmRssKiB).toFixed(1)} MiB`;
    return {
      context: `${harness.method()}; hub on Redis at 127.0.0.1:6379, log level info, to /dev/null; peak RSS = VmHWM, reset between phases`,
      rows: [
        { label: 'hub RSS at rest, after start-up', opsPerSecond: mib(atRest.vmHwmKiB), unit: 'MiB', note: heap(atRest) },
        {
          label: 'hub peak RSS, GET /account at saturation',
          opsPerSecond: mib(afterAccount.vmHwmKiB),
          unit: 'MiB',
          atMost: 150,
          summary: `at ${Math.round(accountFigures.rps).toLocaleString('en-US')} req/s`,
          note: `${heap(afterAccount)}; ${harness.describe(accountFigures)}`,
        },
        {
          label: 'hub peak RSS, beacon accepts at saturation',
          opsPerSecond: mib(afterAccept.vmHwmKiB),
          unit: 'MiB',
          atMost: 150,
          summary: `at ${Math.round(acceptFigures.rps).toLocaleString('en-US')} req/s`,
          note: `${heap(afterAccept)}; ${harness.describe(acceptFigures)}`,
        },
      ],
    };
  } finally {
    await hub?.stop();
    harness.removeWorkspace(ws);
  }
}

module.exports = { title: "the hub's resident memory under /account and beacon accept loads (Redis)", run };
