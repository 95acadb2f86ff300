// Authenticated page hits at the hub, on SQLite and on Redis, against a bare Koa hello app in
// the same run (same machine, same client, same duration).
//
// Targets (issue "Login hub", benchmark section):
//   GET /account on Redis >= 0.25 × bare Koa  (koa-session over an in-memory store: 0.22–0.27)
//   p99 <= 5 ms at that load                   (read at a steady 0.25 × the round's bare Koa
//                                               rate, with harness.paced)
//
// Each request carries a valid `__Host-tessera` cookie, so the hub reads the session through
// the SessionStore and its user through the UserStore (SQLite in both cases), checks the
// secret's hash, then renders. `/account` is the page the issue names: it also lists the
// user's sessions (one more store read) and renders a whole HTML page with a CSRF token in
// every form. `/logout` (GET: the sign-out confirmation) is the lightest authenticated page the
// hub has: same session and user reads, a small page. The hub has no authenticated endpoint
// lighter than that. Method: bench/http-harness.js.
'use strict';

const harness = require('./http-harness');

async function expectSignedIn(server, pathname, cookie, marker) {
  const res = await harness.probe(server.url, pathname, { cookie });
  if (res.status !== 200 || !res.body.includes(marker)) {
    throw new Error(`GET ${pathname} did not answer a signed-in page (status ${res.status}): the benchmark would measure something else`);
  }
}

/** A hub on `store` with one signed-in session; resolves to the server and the session's Cookie header. */
async function startHub(launch, store, ws) {
  const server = await launch({ app: 'hub', store, ...ws, sessions: ['browser'] });
  const { user, sessions } = server.fixtures;
  const cookie = `__Host-tessera=${sessions.browser.hubCookie}`;
  await expectSignedIn(server, '/account', cookie, user.email);
  await expectSignedIn(server, '/logout', cookie, 'action="/logout"');
  return { server, cookie };
}

async function run() {
  const spaces = [harness.workspace(), harness.workspace()];
  const servers = [];
  const launch = async (scenario) => {
    const server = await harness.startServer(scenario);
    servers.push(server);
    return server;
  };
  try {
    const koa = await launch({ app: 'koa' });
    const sqlite = await startHub(launch, 'sqlite', spaces[0]);
    const redis = await startHub(launch, 'redis', spaces[1]);
    let koaRate = 0;
    const runs = await harness.rounds([
      {
        name: 'koa',
        run: async () => {
          const result = await harness.measure(koa, { request: harness.get('/') });
          koaRate = result.rps;
          return result;
        },
      },
      { name: 'sqlite floor', server: sqlite.server, options: { request: harness.get('/healthz') } },
      { name: 'sqlite account', server: sqlite.server, options: { request: harness.get('/account', { cookie: sqlite.cookie }) } },
      { name: 'sqlite logout', server: sqlite.server, options: { request: harness.get('/logout', { cookie: sqlite.cookie }) } },
      { name: 'redis account', server: redis.server, options: { request: harness.get('/account', { cookie: redis.cookie }) } },
      // The latency target: the same page at a steady 0.25 × this round's bare Koa rate; and, for
      // reference, at 0.1 × (the page's latency well below saturation).
      { name: 'redis account at target', run: () => harness.paced(redis.server, { request: harness.get('/account', { cookie: redis.cookie }), rate: 0.25 * koaRate }) },
      { name: 'redis account light', run: () => harness.paced(redis.server, { request: harness.get('/account', { cookie: redis.cookie }), rate: 0.1 * koaRate }) },
      { name: 'redis logout', server: redis.server, options: { request: harness.get('/logout', { cookie: redis.cookie }) } },
    ]);

    const baseline = 'bare Koa hello';
    const koaFigures = harness.summary(runs.koa);
    const vsKoa = (label, name, atLeast) => {
      const list = harness.ratios(runs[name], runs.koa);
      const figures = harness.summary(runs[name]);
      return { label, opsPerSecond: figures.rps, unit: 'req/s', note: harness.describe(figures, list, koaFigures), compare: { to: baseline, ratio: harness.median(list), ...(atLeast === undefined ? {} : { atLeast }) } };
    };
    const atRate = (label, name, atMost) => {
      const figures = harness.summary(runs[name]);
      return { label, opsPerSecond: figures.rps, unit: 'req/s', note: harness.describe(figures), p99: { ms: figures.p99, ...(atMost === undefined ? {} : { atMost }) } };
    };
    return {
      context: `${harness.method()}; hub log level info, to /dev/null`,
      rows: [
        { label: baseline, opsPerSecond: koaFigures.rps, unit: 'req/s', note: harness.describe(koaFigures) },
        vsKoa('hub GET /healthz (no session: the middleware floor)', 'sqlite floor'),
        vsKoa('hub GET /account, SQLite', 'sqlite account'),
        vsKoa('hub GET /logout (lightest signed-in page), SQLite', 'sqlite logout'),
        vsKoa('hub GET /account, Redis', 'redis account', 0.25),
        atRate('hub GET /account, Redis, steady 0.25 × bare Koa rate', 'redis account at target', 5),
        atRate('hub GET /account, Redis, steady 0.1 × bare Koa rate', 'redis account light'),
        vsKoa('hub GET /logout (lightest signed-in page), Redis', 'redis logout'),
      ],
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    spaces.forEach(harness.removeWorkspace);
  }
}

module.exports = { title: 'authenticated hub pages (session and user read through the stores) vs bare Koa', run };
