// Memory per session in Redis: what a signed-in session linked to three sites costs, stored by
// the real RedisSessionStore (dist/).
//
// Target (issue "Scale-out", benchmark section): <= 1 KiB per session.
//
// Method: a redis-server of our own on a free loopback port (no persistence), so that no other
// client's keys move the figure, configured with the listpack thresholds of the shared server at
// 127.0.0.1:6379 when it answers (they decide how small hashes and sorted sets are encoded).
// BENCH_REDIS_SESSIONS (default 10,000) sessions of BENCH_REDIS_SESSIONS / 2 users (two
// devices each), each created through SessionStore.create and linked to three sites through
// linkSite (a per-site secret's hash, as the receiver stores it), with what a browser gives: an
// IPv4 address and a current Chrome user agent (111 characters), empty data. Before them, a few
// sessions under another prefix load the store's Lua scripts, so the script cache is not
// counted. Figures:
//   - INFO memory used_memory after − before, ÷ sessions: everything a session costs, the
//     allocator's rounding, the keyspace's dictionary entries and expiry entries included;
//   - MEMORY USAGE (SAMPLES 0) of one session's keys: the record hash, the sites hash, and the
//     indexes' share (the all-sessions sorted set ÷ sessions, a two-session user's set ÷ 2);
//   - the same again with `hash-max-listpack-value 256` (a redis.conf setting: the user agent
//     and each link's JSON are longer than the default 64 bytes, which turns both hashes into
//     hash tables), for reference;
//   - a spent jti key (`session:{sid}:jti:<jti>`, one per accepted handoff token) for
//     reference: it lives for the token's lifetime and tolerance (35 s by default), not with
//     the session, so it is not in the figure.
'use strict';

const crypto = require('node:crypto');
const { spawn } = require('node:child_process');
const net = require('node:net');
const os = require('node:os');

const SESSIONS = Number(process.env.BENCH_REDIS_SESSIONS ?? 10_000);
const USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const SITES = ['https://shop.example.net', 'https://www.example.org', 'https://news.example.com'];
const THRESHOLDS = ['hash-max-listpack-entries', 'hash-max-listpack-value', 'zset-max-listpack-entries', 'zset-max-listpack-value'];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The shared server's listpack thresholds, or {} when it does not answer. */
async function sharedThresholds(createRedisClient, closeRedisClient) {
  const shared = createRedisClient('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, connectTimeout: 1000, retryStrategy: () => null });
  try {
    const settings = {};
    for (const name of THRESHOLDS) {
      const [, value] = await shared.config('GET', name);
      if (value !== undefined) settings[name] = value;
    }
    return settings;
  } catch {
    return {};
  } finally {
    await closeRedisClient(shared).catch(() => undefined);
  }
}

/** redis-server on `port`, no persistence; resolves once it answers, with a stop function. */
async function startRedis(port, settings) {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...Object.entries(settings).flatMap(([name, value]) => [`--${name}`, String(value)])];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.once('error', () => undefined);
  const deadline = Date.now() + 5000;
  for (;;) {
    const answered = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end('PING\r\n');
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (answered) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('redis-server did not start (is it installed?)');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const usedMemory = async (redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);

async function run() {
  const { systemClock, nowSeconds } = require('../dist/core/clock');
  const { createSessionRecord, hashSecret, newSecret } = require('../dist/core/sessions/session');
  const { loadConfig } = require('../dist/config/load');
  const { closeRedisClient, createRedisClient } = require('../dist/stores/redis/client');
  const { RedisSessionStore } = require('../dist/stores/redis/session-store');

  const settings = await sharedThresholds(createRedisClient, closeRedisClient);
  const port = await freePort();
  const server = await startRedis(port, settings);
  const redis = createRedisClient(`redis://127.0.0.1:${port}`);
  try {
    const policy = loadConfig({ env: { TESSERA_STORE: 'memory:', TESSERA_PUBLIC_URL: 'https://hub.example.com' } }).config.sessions;
    const clock = systemClock;
    const userId = () => crypto.randomBytes(16).toString('base64url');
    const createLinked = async (store, user) => {
      const now = nowSeconds(clock);
      const { record } = createSessionRecord({ userId: user, ip: '203.0.113.57', userAgent: USER_AGENT, now }, policy);
      await store.create(record);
      for (const site of SITES) {
        if (!(await store.linkSite(record.sid, { site, linkedAt: now, src: 'hub.example.com', secretHash: hashSecret(newSecret()), projectionKey: null }))) throw new Error('linkSite refused a live session');
      }
      return record;
    };

    // The scripts are loaded on first use: load them before the baseline.
    const warmup = new RedisSessionStore(redis, { clock, prefix: 'warmup:' });
    for (let i = 0; i < 5; i++) await createLinked(warmup, userId());
    const prefix = `tessera-bench-${crypto.randomBytes(6).toString('hex')}:`;
    const store = new RedisSessionStore(redis, { clock, prefix });
    const before = await usedMemory(redis);
    const users = Array.from({ length: Math.ceil(SESSIONS / 2) }, userId);
    let sample = null;
    for (let i = 0; i < SESSIONS; i += 100) {
      const batch = await Promise.all(Array.from({ length: Math.min(100, SESSIONS - i) }, (_, j) => createLinked(store, users[(i + j) % users.length])));
      sample ??= batch[0];
    }
    const after = await usedMemory(redis);
    const perSession = (after - before) / SESSIONS;

    // The same sessions again once Redis keeps hashes with values up to 256 bytes as listpacks
    // (a user agent and a link's JSON are longer than the default 64): a redis.conf setting.
    await redis.config('SET', 'hash-max-listpack-value', '256');
    const compactStore = new RedisSessionStore(redis, { clock, prefix: `${prefix}compact:` });
    const compactBefore = await usedMemory(redis);
    let compactSample = null;
    for (let i = 0; i < SESSIONS; i += 100) {
      const batch = await Promise.all(Array.from({ length: Math.min(100, SESSIONS - i) }, (_, j) => createLinked(compactStore, users[(i + j) % users.length])));
      compactSample ??= batch[0];
    }
    const compactPerSession = ((await usedMemory(redis)) - compactBefore) / SESSIONS;
    const compactKey = `${prefix}compact:session:{${compactSample.sid}}`;
    const compactKeys = { record: await redis.memory('USAGE', compactKey, 'SAMPLES', 0), sites: await redis.memory('USAGE', `${compactKey}:sites`, 'SAMPLES', 0) };
    await redis.config('SET', 'hash-max-listpack-value', settings['hash-max-listpack-value'] ?? '64');

    const usage = (key) => redis.memory('USAGE', key, 'SAMPLES', 0);
    const encoding = (key) => redis.object('ENCODING', key);
    const sessionKey = `${prefix}session:{${sample.sid}}`;
    const sitesKey = `${sessionKey}:sites`;
    const userKey = `${prefix}user:${sample.userId}:sessions`;
    const [recordBytes, sitesBytes, allBytes, userBytes, recordEncoding, sitesEncoding, userMembers] = await Promise.all([
      usage(sessionKey),
      usage(sitesKey),
      usage(`${prefix}sessions`),
      usage(userKey),
      encoding(sessionKey),
      encoding(sitesKey),
      redis.zcard(userKey),
    ]);
    const jtiKey = `${sessionKey}:jti:${crypto.randomBytes(16).toString('base64url')}`;
    await redis.set(jtiKey, '1', 'PX', 35_000);
    const jtiBytes = await usage(jtiKey);
    const version = /redis_version:(\S+)/.exec(await redis.info('server'))[1];
    const B = 'B';
    return {
      context:
        `redis-server ${version} of our own on port ${port}, ${Object.keys(settings).length > 0 ? `listpack thresholds of the shared server (${THRESHOLDS.map((name) => `${name} ${settings[name]}`).join(', ')})` : 'default thresholds (the shared server did not answer)'}; ` +
        `${SESSIONS.toLocaleString('en-US')} sessions of ${users.length.toLocaleString('en-US')} users, 3 site links each; load average ${os.loadavg()[0].toFixed(2)}`,
      rows: [
        {
          label: 'memory per session, 3 sites (used_memory delta ÷ sessions)',
          opsPerSecond: perSession,
          unit: B,
          atMost: 1024,
          note: `used_memory ${before.toLocaleString('en-US')} → ${after.toLocaleString('en-US')} bytes`,
        },
        {
          label: 'the same with hash-max-listpack-value 256 (redis.conf)',
          opsPerSecond: compactPerSession,
          unit: B,
          note: `record and sites hashes kept as listpacks (MEMORY USAGE ${compactKeys.record} and ${compactKeys.sites} bytes): a deployment setting, for reference (no target)`,
        },
        { label: `session record hash (${recordEncoding})`, opsPerSecond: recordBytes, unit: B, note: `MEMORY USAGE ${sessionKey.replace(sample.sid, '<sid>')}` },
        { label: `sites hash, 3 links (${sitesEncoding})`, opsPerSecond: sitesBytes, unit: B },
        { label: 'all-sessions index, per session', opsPerSecond: allBytes / SESSIONS, unit: B },
        { label: 'user index, per session', opsPerSecond: userBytes / userMembers, unit: B, note: `a user's sorted set of ${userMembers} sessions: ${userBytes} bytes` },
        { label: 'a spent jti (per accepted token, ~35 s)', opsPerSecond: jtiBytes, unit: B },
      ],
    };
  } finally {
    await closeRedisClient(redis);
    await server.stop();
  }
}

module.exports = { title: 'memory per signed-in session in Redis (RedisSessionStore, 3 site links)', run };
