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
//   - MEMORY USAGE (SAMPLES 0) of one session's key (the record with its links), and the
//     indexes' share (the all-sessions sorted set ÷ sessions, a two-session user's set ÷ 2);
//   - for reference, the same sessions with Safari on iPhone's user agent (139 characters), and
//     with a projection key on each link (sites whose receiver writes a PHP session): the
//     record grows with its values, and the allocator rounds it up in steps (512, 640, 768
//     bytes), so a few bytes more can cost 128;
//   - a spent jti key (`session:{sid}:jti:<jti>`, one per accepted token) for reference: it
//     lives for the token's lifetime and tolerance (35 s by default), not with the session, so
//     it is not in the figure.
'use strict';

const crypto = require('node:crypto');
const { spawn } = require('node:child_process');
const net = require('node:net');
const os = require('node:os');

const SESSIONS = Number(process.env.BENCH_REDIS_SESSIONS ?? 10_000);
const USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const IPHONE_USER_AGENT = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
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
    const createLinked = async (store, user, { userAgent = USER_AGENT, projection = false } = {}) => {
      const now = nowSeconds(clock);
      const { record } = createSessionRecord({ userId: user, ip: '203.0.113.57', userAgent, now }, policy);
      await store.create(record);
      for (const site of SITES) {
        // A projection key as the receiver makes it: PHP's prefix and the site cookie's value.
        const projectionKey = projection ? `PHPREDIS_SESSION:${crypto.randomBytes(16).toString('hex')}-${crypto.randomBytes(32).toString('hex')}` : null;
        if (!(await store.linkSite(record.sid, { site, linkedAt: now, src: 'hub.example.com', secretHash: hashSecret(newSecret()), projectionKey }))) throw new Error('linkSite refused a live session');
      }
      return record;
    };
    const users = Array.from({ length: Math.ceil(SESSIONS / 2) }, userId);
    /** SESSIONS sessions under `prefix`: bytes per session (used_memory delta) and the first one. */
    const fill = async (prefix, options) => {
      const store = new RedisSessionStore(redis, { clock, prefix });
      const before = await usedMemory(redis);
      let sample = null;
      for (let i = 0; i < SESSIONS; i += 100) {
        const batch = await Promise.all(Array.from({ length: Math.min(100, SESSIONS - i) }, (_, j) => createLinked(store, users[(i + j) % users.length], options)));
        sample ??= batch[0];
      }
      const after = await usedMemory(redis);
      return { before, after, perSession: (after - before) / SESSIONS, sample, sessionKey: `${prefix}session:{${sample.sid}}` };
    };

    // The scripts are loaded on first use: load them before the baseline.
    const warmup = new RedisSessionStore(redis, { clock, prefix: 'warmup:' });
    for (let i = 0; i < 5; i++) await createLinked(warmup, userId());
    // Prefixes of one length: a key's name is part of its cost.
    const newPrefix = () => `tessera-bench-${crypto.randomBytes(6).toString('hex')}:`;
    const prefix = newPrefix();
    const main = await fill(prefix);
    const iphone = await fill(newPrefix(), { userAgent: IPHONE_USER_AGENT });
    const projected = await fill(newPrefix(), { projection: true });

    const usage = (key) => redis.memory('USAGE', key, 'SAMPLES', 0);
    const encoding = (key) => redis.object('ENCODING', key);
    const { sample, sessionKey } = main;
    const userKey = `${prefix}user:${sample.userId}:sessions`;
    const [recordBytes, allBytes, userBytes, recordEncoding, userMembers, iphoneBytes, projectedBytes, projectedEncoding] = await Promise.all([
      usage(sessionKey),
      usage(`${prefix}sessions`),
      usage(userKey),
      encoding(sessionKey),
      redis.zcard(userKey),
      usage(iphone.sessionKey),
      usage(projected.sessionKey),
      encoding(projected.sessionKey),
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
          opsPerSecond: main.perSession,
          unit: B,
          atMost: 1024,
          note: `used_memory ${main.before.toLocaleString('en-US')} → ${main.after.toLocaleString('en-US')} bytes`,
        },
        { label: `session record with its links (${recordEncoding})`, opsPerSecond: recordBytes, unit: B, note: `MEMORY USAGE ${sessionKey.replace(sample.sid, '<sid>')}` },
        { label: 'all-sessions index, per session', opsPerSecond: allBytes / SESSIONS, unit: B },
        { label: 'user index, per session', opsPerSecond: userBytes / userMembers, unit: B, note: `a user's sorted set of ${userMembers} sessions: ${userBytes} bytes` },
        {
          label: 'the same with Safari on iPhone (139-character user agent)',
          opsPerSecond: iphone.perSession,
          unit: B,
          note: `record ${iphoneBytes} bytes: 28 bytes more of user agent cross the allocator's 512-byte step, to 640 (for reference, no target)`,
        },
        {
          label: 'the same with a projection key on each link (PHP sites)',
          opsPerSecond: projected.perSession,
          unit: B,
          note: `record ${projectedBytes} bytes (${projectedEncoding}): each link's value, 165 bytes with its 114-byte key, in pieces of 64 (for reference, no target)`,
        },
        { label: 'a spent jti (per accepted token, ~35 s)', opsPerSecond: jtiBytes, unit: B },
      ],
    };
  } finally {
    await closeRedisClient(redis);
    await server.stop();
  }
}

module.exports = { title: 'memory per signed-in session in Redis (RedisSessionStore, 3 site links)', run };
