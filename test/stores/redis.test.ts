import crypto from 'node:crypto';
import net from 'node:net';
import type { Cluster, Redis } from 'ioredis';
import { FrozenClock } from '../../src/core/clock';
import { closeRedisClient, createRedisClient, type RedisClient } from '../../src/stores/redis/client';
import { indexMember, RedisKeys } from '../../src/stores/redis/keys';
import { RedisReplayStore } from '../../src/stores/redis/replay-store';
import { RedisSessionStore } from '../../src/stores/redis/session-store';
import { replayStoreContract } from '../contract/replay-store.contract';
import { makeLink, makeSession, sessionStoreContract } from '../contract/session-store.contract';
import { describeWithRedis, redisUrl } from '../support/services';

/** Every key this file writes starts with this; each test adds a part of its own. */
const runPrefix = `tessera-test:${crypto.randomBytes(6).toString('hex')}:`;
let counter = 0;

function freshPrefix(): string {
  counter += 1;
  return `${runPrefix}${counter}:`;
}

async function deleteKeys(redis: RedisClient, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await (redis as Redis).scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** A client for the test Redis, plus one to clean up with after the stores closed theirs. */
function connect(): RedisClient {
  const redis = createRedisClient(redisUrl);
  redis.on('error', () => undefined);
  return redis;
}

async function cleanup(prefix: string, clients: RedisClient[]): Promise<void> {
  await Promise.all(clients.map((client) => closeRedisClient(client)));
  const janitor = connect();
  await deleteKeys(janitor, prefix);
  await closeRedisClient(janitor);
}

describeWithRedis('Redis stores', () => {
  // Redis expires keys by the server's clock, so the frozen clock starts at real time: the TTLs
  // the stores set are then sane, while liveness is still judged by the frozen clock.
  sessionStoreContract(
    'Redis',
    async () => {
      const prefix = freshPrefix();
      const clock = new FrozenClock(Date.now());
      const clients = [connect()];
      const store = new RedisSessionStore(clients[0] as RedisClient, { clock, prefix });
      return {
        store,
        replay: new RedisReplayStore(clients[0] as RedisClient, { clock, prefix }),
        clock,
        reopen: async () => {
          await closeRedisClient(clients[0] as RedisClient);
          const next = connect();
          clients.push(next);
          return new RedisSessionStore(next, { clock, prefix });
        },
        cleanup: () => cleanup(prefix, clients),
      };
    },
    { persistent: true },
  );

  replayStoreContract(
    'Redis',
    async () => {
      const prefix = freshPrefix();
      const clock = new FrozenClock(Date.now());
      const clients = [connect()];
      return {
        store: new RedisReplayStore(clients[0] as RedisClient, { clock, prefix }),
        clock,
        reopen: async () => {
          await closeRedisClient(clients[0] as RedisClient);
          const next = connect();
          clients.push(next);
          return new RedisReplayStore(next, { clock, prefix });
        },
        cleanup: () => cleanup(prefix, clients),
      };
    },
    { afterExpiry: 'kept-until-server-expiry', persistent: true },
  );

  describe('key layout', () => {
    let prefix: string;
    let keys: RedisKeys;
    let redis: RedisClient;
    let clock: FrozenClock;
    let t0: number;
    let sessions: RedisSessionStore;
    let replay: RedisReplayStore;

    beforeEach(() => {
      prefix = freshPrefix();
      keys = new RedisKeys(prefix);
      redis = connect();
      clock = new FrozenClock(Date.now());
      t0 = Math.floor(clock.now() / 1000);
      sessions = new RedisSessionStore(redis, { clock, prefix });
      replay = new RedisReplayStore(redis, { clock, prefix });
    });

    afterEach(() => cleanup(prefix, [redis]));

    /** Milliseconds from the frozen clock's now to `second`. */
    const msUntil = (second: number): number => second * 1000 - clock.now();

    it('keeps a session, its links and its jtis under the documented keys, expiring with it', async () => {
      await sessions.create(makeSession(t0, { sid: 'sid-1', idleExpiresAt: t0 + 1800, absoluteExpiresAt: t0 + 7200 }));
      expect(await sessions.acceptHandoff('jti-1', t0 + 90, 'sid-1', makeLink('https://www.example.org', t0))).toBe('accepted');

      expect(await redis.hget(keys.session('sid-1'), 'i')).toBe(String(t0 + 1800));
      expect(await redis.hget(keys.session('sid-1'), 'u')).toBe('user-1');
      // The link is a field of the record: seconds after createdAt, src, no projection key, no hash.
      expect(await redis.hget(keys.session('sid-1'), 'https://www.example.org')).toBe('0 login.example.com  ');
      expect(await redis.get(keys.sessionJti('sid-1', 'jti-1'))).toBe('1');
      expect(await redis.zrange(keys.allSessions(), 0, -1)).toEqual([indexMember(t0, 'sid-1')]);
      expect(await redis.zrange(keys.userSessions('user-1'), 0, -1)).toEqual([indexMember(t0, 'sid-1')]);

      const near = (actual: number, expected: number): void => {
        expect(actual).toBeLessThanOrEqual(expected);
        expect(actual).toBeGreaterThan(expected - 5_000);
      };
      near(await redis.pttl(keys.session('sid-1')), msUntil(t0 + 1800));
      near(await redis.pttl(keys.sessionJti('sid-1', 'jti-1')), msUntil(t0 + 90));
      near(await redis.pttl(keys.userSessions('user-1')), msUntil(t0 + 7200));
      expect(await redis.pttl(keys.allSessions())).toBe(-1);

      // A touch moves both TTLs; the absolute expiry caps them.
      expect(await sessions.touch('sid-1', t0, t0 + 9000)).toBe(true);
      near(await redis.pttl(keys.session('sid-1')), msUntil(t0 + 7200));
    });

    it('puts the keys one script touches in one Cluster slot (same hash tag)', () => {
      expect(hashTag(keys.session('abcDEF_-123'))).toBe('abcDEF_-123');
      expect(hashTag(keys.sessionJti('abcDEF_-123', 'some-jti'))).toBe('abcDEF_-123');
    });

    it('uses the session slot for a jti with a sid and a global key without', async () => {
      expect(await replay.rememberOnce('jti-2', t0 + 60, 'sid-2')).toBe(true);
      expect(await replay.rememberOnce('jti-3', t0 + 60)).toBe(true);
      expect(await redis.exists(keys.sessionJti('sid-2', 'jti-2'), keys.jti('jti-3'))).toBe(2);
    });

    it('revoke deletes the keys and the index entries', async () => {
      await sessions.create(makeSession(t0, { sid: 'sid-1' }));
      await sessions.linkSite('sid-1', makeLink('https://www.example.org', t0));
      await sessions.revoke('sid-1');
      expect(await redis.exists(keys.session('sid-1'))).toBe(0);
      expect(await redis.zcard(keys.allSessions())).toBe(0);
      expect(await redis.exists(keys.userSessions('user-1'))).toBe(0);
    });

    it('prunes index entries of sessions Redis expired, sparing ones that may be in creation', async () => {
      await sessions.create(makeSession(t0, { sid: 'sid-live' }));
      const old = indexMember(t0 - 3600, 'sid-expired-by-redis');
      const fresh = indexMember(t0, 'sid-being-created');
      await redis.zadd(keys.allSessions(), 0, old, 0, fresh);
      await redis.zadd(keys.userSessions('user-1'), 0, old, 0, fresh);

      expect((await sessions.list({}, { limit: 10 })).items.map((r) => r.sid)).toEqual(['sid-live']);
      expect((await sessions.listByUser('user-1')).map((r) => r.sid)).toEqual(['sid-live']);
      expect(await redis.zrange(keys.allSessions(), 0, -1)).toEqual([fresh, indexMember(t0, 'sid-live')].sort());
      expect(await redis.zrange(keys.userSessions('user-1'), 0, -1)).toEqual([fresh, indexMember(t0, 'sid-live')].sort());
    });

    it('listByUser lists a known record as given instead of reading it again', async () => {
      await sessions.create(makeSession(t0 - 100, { sid: 'sid-1' }));
      await sessions.create(makeSession(t0, { sid: 'sid-2' }));
      const current = (await sessions.get('sid-2'))!;
      // The script that reads a record with its links (defined on the client by the store; its
      // Buffer variant, as the hashes are binary).
      const load = jest.spyOn(redis as unknown as Record<'tesseraSessionLoadBuffer', (...args: unknown[]) => Promise<unknown>>, 'tesseraSessionLoadBuffer');
      try {
        const listed = await sessions.listByUser('user-1', current);
        expect(listed.map((r) => r.sid)).toEqual(['sid-2', 'sid-1']);
        expect(listed[0]).toBe(current);
        // Only sid-1 was read.
        expect(new Set(load.mock.calls.map(([key]) => key))).toEqual(new Set([keys.session('sid-1')]));
      } finally {
        load.mockRestore();
      }
    });

    it('keeps a session one listpack hash whatever its values: long ones in pieces of at most 64 bytes', async () => {
      const userAgent = `Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) ${'é'.repeat(150)}`;
      const data = { basket: Array.from({ length: 20 }, (_, i) => ({ sku: `sku-${i}`, qty: i })) };
      await sessions.create(makeSession(t0, { sid: 'sid-1', userAgent, data }));
      const projected = makeLink('https://shop.example.net', t0 + 5, { src: 'www.example.org:8443', secretHash: 'ab'.repeat(32), projectionKey: `PHPREDIS_SESSION:${'f'.repeat(32)}-${'e'.repeat(64)}` });
      expect(await sessions.linkSite('sid-1', projected)).toBe(true);
      expect(await sessions.linkSite('sid-1', makeLink('https://www.example.org', t0 + 9))).toBe(true);
      const fields = await (redis as Redis).hgetallBuffer(keys.session('sid-1'));
      expect(Math.max(...Object.entries(fields).map(([name, value]) => Math.max(Buffer.byteLength(name), value.length)))).toBeLessThanOrEqual(64);
      expect(Object.keys(fields)).toEqual(expect.arrayContaining(['ua', 'ua#1', 'd', 'd#1', 'https://shop.example.net#1']));
      // The server's default hash-max-listpack-value (64) keeps such a hash a listpack.
      const [, limit] = (await redis.config('GET', 'hash-max-listpack-value')) as [string, string];
      if (Number(limit) >= 64) expect(await redis.object('ENCODING', keys.session('sid-1'))).toBe('listpack');
      expect(fields.h).toEqual(Buffer.from('a3'.repeat(32), 'hex'));

      const read = (await sessions.get('sid-1'))!;
      expect(read.userAgent).toBe(userAgent);
      expect(read.data).toEqual(data);
      expect(read.sites).toEqual([projected, makeLink('https://www.example.org', t0 + 9)]);

      // Shorter values leave no pieces of the longer ones behind.
      expect(await sessions.setData('sid-1', { basket: [] })).toBe(true);
      expect(await sessions.linkSite('sid-1', makeLink('https://shop.example.net', t0 + 20))).toBe(true);
      const after = Object.keys(await redis.hgetall(keys.session('sid-1')));
      expect(after.filter((name) => name.startsWith('d') || name.startsWith('https://shop'))).toEqual(['d', 'https://shop.example.net']);
      expect((await sessions.get('sid-1'))!.data).toEqual({ basket: [] });
    });

    it('finds, revokes and purges the sessions of a user whose id is longer than one piece', async () => {
      const userId = `imported-${'x'.repeat(100)}`;
      await sessions.create(makeSession(t0, { sid: 'sid-1', userId }));
      await sessions.create(makeSession(t0, { sid: 'sid-2', userId, idleExpiresAt: t0 + 10 }));
      expect(await redis.hexists(keys.session('sid-1'), 'u#1')).toBe(1);
      expect((await sessions.get('sid-1'))!.userId).toBe(userId);
      expect((await sessions.listByUser(userId)).map((r) => r.sid)).toEqual(['sid-2', 'sid-1']);

      clock.advance(20_000);
      expect(await sessions.purgeExpired()).toBe(1);
      expect(await redis.zrange(keys.userSessions(userId), 0, -1)).toEqual([indexMember(t0, 'sid-1')]);
      expect((await sessions.revokeUser(userId)).map((r) => r.sid)).toEqual(['sid-1']);
      expect(await redis.exists(keys.session('sid-1'), keys.userSessions(userId))).toBe(0);
    });

    it('treats a record of layout 1 (earlier builds) as absent, and prunes its index entries', async () => {
      // What layout 1 wrote: a hash of long field names, links in a second hash, index members
      // `<createdAt, 12 digits>:<sid>`.
      await redis.hset(keys.session('sid-old'), { v: '1', secretHash: 'a3'.repeat(32), userId: 'user-1', data: '{}', createdAt: t0, lastSeenAt: t0, idleExpiresAt: t0 + 1800, absoluteExpiresAt: t0 + 7200, persistent: '0' });
      await redis.hset(`${keys.session('sid-old')}:sites`, 'https://www.example.org', JSON.stringify({ v: 1, linkedAt: t0, src: 'login.example.com', secretHash: null, projectionKey: null }));
      const oldMember = `${String(t0).padStart(12, '0')}:sid-old`;
      await redis.zadd(keys.allSessions(), 0, oldMember);
      await redis.zadd(keys.userSessions('user-1'), 0, oldMember);

      expect(await sessions.get('sid-old')).toBeNull();
      expect(await sessions.touch('sid-old', t0, t0 + 1800)).toBe(false);
      expect(await sessions.linkSite('sid-old', makeLink('https://shop.example.net', t0))).toBe(false);
      expect(await sessions.setData('sid-old', { a: 1 })).toBe(false);
      expect(await sessions.list({}, { limit: 10 })).toEqual({ items: [], nextCursor: null });
      expect(await sessions.listByUser('user-1')).toEqual([]);
      expect(await redis.zcard(keys.allSessions())).toBe(0);
      expect(await redis.zcard(keys.userSessions('user-1'))).toBe(0);
      expect(await sessions.revoke('sid-old')).toBeNull();
    });

    it('purgeExpired prunes index entries of sessions Redis expired', async () => {
      await redis.zadd(keys.allSessions(), 0, indexMember(t0 - 3600, 'sid-expired-by-redis'));
      expect(await sessions.purgeExpired()).toBe(0);
      expect(await redis.zcard(keys.allSessions())).toBe(0);
    });
  });

  it('rejects with ERR_STORE_UNAVAILABLE within seconds when Redis does not answer', async () => {
    const port = await closedPort();
    // ioredis arms a `disconnectTimeout` timer when dropping a socket that was refused, and
    // nothing clears it; a short one lets jest exit on time.
    const redis = createRedisClient(`redis://127.0.0.1:${port}`, { disconnectTimeout: 10 });
    redis.on('error', () => undefined);
    const clock = new FrozenClock(Date.now());
    const sessions = new RedisSessionStore(redis, { clock });
    const replay = new RedisReplayStore(redis, { clock });
    const began = Date.now();
    try {
      await expect(sessions.get('sid-1')).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
      await expect(sessions.acceptHandoff('jti-1', 2e9, 'sid-1', makeLink('https://a.example', 0))).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
      await expect(replay.rememberOnce('jti-1', 2e9)).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
      await expect(sessions.ping()).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
      expect(Date.now() - began).toBeLessThan(2_000);
    } finally {
      await sessions.close();
    }
  });
});

/**
 * What Redis Cluster hashes a key by: the part between the first `{` and the next `}` when it
 * is not empty, else the whole key (Redis Cluster specification, "Hash tags").
 */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('createRedisClient', () => {
  const lazy = { lazyConnect: true };

  it('passes redis:// and rediss:// URLs to ioredis with fail-fast defaults', () => {
    const redis = createRedisClient('redis://:p%40ss@cache.internal:6380/2', lazy) as Redis;
    expect(redis.options).toMatchObject({ host: 'cache.internal', port: 6380, db: 2, password: 'p@ss', enableAutoPipelining: false, maxRetriesPerRequest: 1 });
    redis.disconnect();
    const tls = createRedisClient('rediss://cache.internal', lazy) as Redis;
    expect(tls.options.tls).toBeDefined();
    tls.disconnect();
  });

  it('reads Sentinel addresses, master name, db and password', () => {
    const redis = createRedisClient('redis+sentinel://s3cr%3At@10.0.0.1:26380,10.0.0.2,[::1]:26381/my-master/3', lazy) as Redis;
    expect(redis.options).toMatchObject({
      sentinels: [
        { host: '10.0.0.1', port: 26380 },
        { host: '10.0.0.2', port: 26379 },
        { host: '::1', port: 26381 },
      ],
      name: 'my-master',
      db: 3,
      password: 's3cr:t',
      maxRetriesPerRequest: 1,
    });
    redis.disconnect();
  });

  it('reads Cluster seed nodes and credentials', () => {
    const cluster = createRedisClient('redis+cluster://ops:pw@10.0.0.1:7000,10.0.0.2:7001', lazy) as Cluster;
    // ioredis keeps the seed nodes in a private field; nothing public shows them before connecting.
    expect((cluster as unknown as { startupNodes: unknown }).startupNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ]);
    expect(cluster.options.redisOptions).toMatchObject({ username: 'ops', password: 'pw', maxRetriesPerRequest: 1 });
    expect(cluster.options.enableAutoPipelining).toBe(false);
    cluster.disconnect();
  });

  it.each([
    ['an unknown scheme', 'http://secret@cache.internal'],
    ['a Sentinel URL without a master name', 'redis+sentinel://secret@10.0.0.1:26379'],
    ['a bad port', 'redis+cluster://secret@10.0.0.1:port'],
  ])('refuses %s with ERR_CONFIG_INVALID, without echoing the password', (_label, url) => {
    let caught: unknown;
    try {
      createRedisClient(url, lazy);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'ERR_CONFIG_INVALID' });
    expect((caught as Error).message).not.toContain('secret');
  });

  it('refuses a key prefix with braces, which would put every key in one Cluster slot', () => {
    expect(() => new RedisKeys('{tessera}:')).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
  });
});
