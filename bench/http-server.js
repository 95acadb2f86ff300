// The server side of the HTTP benchmarks, run by bench/http-harness.js in a child process of its
// own (pinned to one core when `taskset` exists), so the load generator never shares its event
// loop or its core.
//
//   node bench/http-server.js '<scenario JSON>'
//
// Scenarios:
//   { "app": "koa" }                      a bare Koa hello app: the baseline
//   { "app": "hub", "store": "sqlite" | "redis", "dir", "prefix", "sessions": [<name>, ...],
//     "links": { <name>: [<site origin>, ...] } }
//       the real hub from dist/ (createHub over hubDeps, as src/main.ts builds it) with real
//       stores: sessions in SQLite (a file in `dir`) or in Redis at 127.0.0.1:6379 under `prefix`;
//       users, the audit log, the outbox and admin tokens always in SQLite (the same file). One
//       user and, for each name in `sessions`, a signed-in session created directly through the
//       stores, linked to the sites listed in `links[name]` with a per-site secret of its own (as
//       the receiver would have set it).
//
// Messages: the child sends { ready: { port, fixtures } } once listening; then it answers
// { id, op } from the parent with { id, result } or { id, error }:
//   cpu      once no request is in flight: { cpuUs: process.cpuUsage() user + system, handled:
//            requests finished so far, atMs: performance.now(), waitUs: how long the event loop's
//            thread has waited, ready to run, for a core other processes held (null where
//            /proc/self/schedstat does not exist) }
//   rawSign  raw RSA-2048 signatures for `ms` with the hub's signing key: { rps, cpuPerSignUs }
//   stop     close the server, remove what the scenario stored, exit
//   serverTimes  with "serverTimes": true in the scenario, each request's time inside the server
//            since the last call, from Node's 'request' event (headers parsed) to the response's
//            'finish' (last byte handed to the socket): { count, p50Us, p99Us, p999Us, maxUs }
//   memory   this process's memory: { vmHwmKiB (peak RSS, /proc/self/status VmHWM), vmRssKiB,
//            heapUsed, external } (bytes for the last two); with `resetPeak`, VmHWM is reset to
//            the current RSS afterwards (/proc/self/clear_refs), so the next call gives the peak
//            since this one
// Further scenario keys, for a second hub instance on the same stores: "join": true creates no
// user or session and leaves the stored keys in place on stop (the first instance removes them).
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const Koa = require('koa');

/** The hub with its stores, a user and the scenario's sessions. */
async function startHub(scenario) {
  const pino = require('pino');
  const { benchConfig } = require('./http-harness');
  const { systemClock, nowSeconds } = require('../dist/core/clock');
  const { createSessionRecord, formatCookieValue, hashSecret, newSecret } = require('../dist/core/sessions/session');
  const { createHub } = require('../dist/hub/app');
  const { createLogger } = require('../dist/log/logger');
  const { hubDeps, openKeyring, tuneGarbageCollector } = require('../dist/main');
  // As `tessera serve` does: the same garbage-collector setting as production (src/main.ts).
  tuneGarbageCollector();
  const { closeRedisClient, createRedisClient } = require('../dist/stores/redis/client');
  const { RedisReplayStore } = require('../dist/stores/redis/replay-store');
  const { RedisSessionStore } = require('../dist/stores/redis/session-store');
  const { openDatabase } = require('../dist/stores/sqlite/database');
  const { SqliteReplayStore } = require('../dist/stores/sqlite/replay-store');
  const { SqliteSessionStore } = require('../dist/stores/sqlite/session-store');
  const { SqliteUserStore } = require('../dist/stores/sqlite/user-store');
  const { SqliteAuditLog } = require('../dist/stores/sqlite/audit-log');
  const { SqliteOutbox } = require('../dist/stores/sqlite/outbox');
  const { SqliteAdminTokenStore } = require('../dist/stores/sqlite/admin-token-store');

  const config = benchConfig(scenario);
  const clock = systemClock;
  // The default level (info), as deployed: one access line per request, written to /dev/null
  // synchronously, as pino writes to stdout by default.
  const logger = createLogger({ level: config.log.level, destination: pino.destination({ dest: '/dev/null', sync: true }) });
  const db = openDatabase(`${scenario.dir}/tessera.db`);
  const users = new SqliteUserStore(db, { clock });
  let sessions;
  let replay;
  let rateLimits;
  let cleanup;
  if (scenario.store === 'redis') {
    const redis = createRedisClient(config.store.url);
    sessions = new RedisSessionStore(redis, { clock, prefix: config.store.keyPrefix });
    replay = new RedisReplayStore(redis, { clock, prefix: config.store.keyPrefix });
    rateLimits = { kind: 'redis', client: redis, prefix: config.store.keyPrefix };
    cleanup = async () => {
      if (!scenario.join) await deleteKeys(redis, config.store.keyPrefix);
      await closeRedisClient(redis);
    };
  } else {
    sessions = new SqliteSessionStore(db, { clock });
    replay = new SqliteReplayStore(db, { clock });
    rateLimits = { kind: 'sqlite', db };
    cleanup = async () => {};
  }
  const keyring = await openKeyring(config, clock, logger);
  // The audit log, outbox and admin tokens in the same SQLite file as the users, as
  // src/stores/open.ts opens them when no database URL is configured: every accept appends an
  // audit event.
  const audit = new SqliteAuditLog(db, { clock });
  const outbox = new SqliteOutbox(db, { clock });
  const adminTokens = new SqliteAdminTokenStore(db, { clock });
  const stores = { sessions, replay, users, outbox, audit, adminTokens, rateLimits, readiness: [sessions, users] };
  const deps = hubDeps(config, clock, logger, stores, keyring);

  // A second instance joining the first's stores (`join`) creates nothing: its fixtures are the first's.
  const user = scenario.join ? null : await users.create({ email: 'ada@example.org', name: 'Ada Lovelace' });
  const fixtures = { user, sessions: {} };
  for (const name of scenario.sessions) {
    const now = nowSeconds(clock);
    const created = createSessionRecord({ userId: user.id, ip: '127.0.0.1', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36', now }, config.sessions);
    await sessions.create(created.record);
    const siteCookies = {};
    for (const site of scenario.links?.[name] ?? []) {
      const secret = newSecret();
      await sessions.linkSite(created.record.sid, { site, linkedAt: now, src: new URL(config.publicUrl).host, secretHash: hashSecret(secret), projectionKey: null });
      siteCookies[site] = formatCookieValue(created.record.sid, secret);
    }
    fixtures.sessions[name] = { sid: created.record.sid, hubCookie: formatCookieValue(created.record.sid, created.secret), siteCookies };
  }

  return {
    callback: createHub(deps).callback(),
    fixtures,
    rawSign: (ms) => rawSign(keyring.signingKey().privateKey, ms),
    close: async () => {
      await cleanup();
      db.close();
    },
  };
}

/** Removes every key under `prefix` (the benchmark's own random prefix). */
async function deleteKeys(redis, prefix) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * Raw signatures over the signing input of a typical handoff token (~600 bytes) for `ms`:
 * their rate, and the CPU time each took (which other jobs on the core disturb less than the
 * rate).
 */
function rawSign(privateKey, ms) {
  const input = Buffer.from(crypto.randomBytes(450).toString('base64url'));
  const started = process.hrtime.bigint();
  const until = started + BigInt(ms) * 1_000_000n;
  const cpuBefore = process.cpuUsage();
  let count = 0;
  while (process.hrtime.bigint() < until) {
    for (let i = 0; i < 10; i++) crypto.sign('sha256', input, privateKey);
    count += 10;
  }
  const cpu = process.cpuUsage(cpuBefore);
  return { rps: (count * 1e9) / Number(process.hrtime.bigint() - started), cpuPerSignUs: (cpu.user + cpu.system) / count };
}

/**
 * Time the main thread (the event loop) has spent runnable but waiting for its core, in µs: the
 * second field of /proc/self/schedstat (ns). It tells a server slowed by other processes on its
 * core from one slowed by its own work; null where the kernel does not expose it.
 */
function runQueueWaitUs() {
  try {
    return Number(require('node:fs').readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]) / 1000;
  } catch {
    return null;
  }
}

function startKoa() {
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = 'Hello World';
  });
  return { callback: app.callback(), fixtures: {}, rawSign: () => null, close: async () => {} };
}

async function main() {
  const scenario = JSON.parse(process.argv[2]);
  const app = scenario.app === 'koa' ? startKoa() : await startHub(scenario);
  // Requests counted when Koa has finished with them (its callback's promise settles), so the
  // CPU time per request is exact even for requests still running when the client stopped.
  let inFlight = 0;
  let handled = 0;
  const done = () => {
    inFlight -= 1;
    handled += 1;
  };
  const server = http.createServer((req, res) => {
    inFlight += 1;
    app.callback(req, res).then(done, done);
  });
  // Opt-in, so the other benchmarks' servers do not pay for it.
  let serverTimes = [];
  if (scenario.serverTimes) {
    server.prependListener('request', (req, res) => {
      const start = process.hrtime.bigint();
      res.once('finish', () => serverTimes.push(Number(process.hrtime.bigint() - start) / 1000));
    });
  }
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

  const ops = {
    cpu: async () => {
      const until = Date.now() + 10_000;
      while (inFlight > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 1));
      const { user, system } = process.cpuUsage();
      return { cpuUs: user + system, handled, atMs: performance.now(), waitUs: runQueueWaitUs() };
    },
    rawSign: ({ ms }) => app.rawSign(ms),
    serverTimes: () => {
      const times = serverTimes.sort((a, b) => a - b);
      serverTimes = [];
      const at = (p) => (times.length === 0 ? 0 : times[Math.min(times.length - 1, Math.floor(p * times.length))]);
      return { count: times.length, p50Us: at(0.5), p99Us: at(0.99), p999Us: at(0.999), maxUs: at(1) };
    },
    memory: ({ resetPeak }) => {
      const status = require('node:fs').readFileSync('/proc/self/status', 'utf8');
      const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
      const { heapUsed, external } = process.memoryUsage();
      const result = { vmHwmKiB: kib('VmHWM'), vmRssKiB: kib('VmRSS'), heapUsed, external };
      if (resetPeak) require('node:fs').writeFileSync('/proc/self/clear_refs', '5');
      return result;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await app.close();
      setImmediate(() => process.disconnect());
      return null;
    },
  };
  process.on('message', async (message) => {
    try {
      process.send({ id: message.id, result: await ops[message.op](message) });
    } catch (err) {
      process.send({ id: message.id, error: err instanceof Error ? err.stack : String(err) });
    }
  });
  process.send({ ready: { port: server.address().port, fixtures: app.fixtures } });
}

if (require.main === module) {
  main().catch((err) => {
    process.send?.({ failed: err instanceof Error ? err.stack : String(err) });
    process.exitCode = 1;
  });
}
