import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { FrozenClock, nowSeconds } from '../../src/core/clock';
import { MemoryProjectionStore } from '../../src/stores/memory/projection-store';
import { closeRedisClient, createRedisClient, type RedisClient } from '../../src/stores/redis/client';
import { RedisProjectionStore } from '../../src/stores/redis/projection-store';
import { projectionStoreContract } from '../contract/projection-store.contract';
import { codeOf } from '../support/errors';
import { describeWithRedis, redisUrl } from '../support/services';

const start = Date.UTC(2026, 0, 15, 9, 30, 0);

projectionStoreContract('memory', async () => {
  const clock = new FrozenClock(start);
  const store = new MemoryProjectionStore({ clock });
  return {
    store,
    clock,
    keyPrefix: 'PHPREDIS_SESSION:',
    raw: async (key) => store.readRaw(key),
    ttl: async (key) => store.ttlSeconds(key),
    writeAsApplication: async (key, value, ttlSeconds) => store.writeAsApplication(key, value, ttlSeconds),
    cleanup: async () => undefined,
  };
});

/** Every key this file writes starts with this. */
const runPrefix = `tessera-test:${crypto.randomBytes(6).toString('hex')}:`;
let counter = 0;

function connect(): RedisClient {
  const redis = createRedisClient(redisUrl);
  redis.on('error', () => undefined);
  return redis;
}

async function deleteKeys(redis: RedisClient, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await (redis as Redis).scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

interface RedisSubject {
  store: RedisProjectionStore;
  /** The store's own client. */
  client: RedisClient;
  /** Another connection: the application, and the test's eyes. */
  app: RedisClient;
  clock: FrozenClock;
  /** The hub's prefix (the index) and, under it, the site's projection prefix. */
  prefix: string;
  keyPrefix: string;
  close(): Promise<void>;
}

function redisSubject(): RedisSubject {
  counter += 1;
  const prefix = `${runPrefix}${counter}:`;
  // Redis counts TTLs by its own clock: the frozen clock starts at real time.
  const clock = new FrozenClock(Date.now());
  const client = connect();
  const app = connect();
  return {
    store: new RedisProjectionStore(client, { clock, prefix }),
    client,
    app,
    clock,
    prefix,
    keyPrefix: `${prefix}PHPREDIS_SESSION:`,
    close: async () => {
      await closeRedisClient(client);
      await deleteKeys(app, prefix);
      await closeRedisClient(app);
    },
  };
}

describeWithRedis('Redis projection store', () => {
  projectionStoreContract('Redis', async () => {
    const subject = redisSubject();
    return {
      store: subject.store,
      clock: subject.clock,
      keyPrefix: subject.keyPrefix,
      raw: (key) => subject.app.get(key),
      ttl: async (key) => {
        const ms = await subject.app.pttl(key);
        return ms < 0 ? null : Math.round(ms / 1000);
      },
      writeAsApplication: async (key, value, ttlSeconds) => {
        await subject.app.set(key, value, 'EX', ttlSeconds);
      },
      cleanup: subject.close,
    };
  });

  let subject: RedisSubject;
  beforeEach(() => {
    subject = redisSubject();
  });
  afterEach(() => subject.close());

  const write = (key: string, expiresAt: number) => ({ key, format: 'php' as const, fields: { user_id: 'u1' }, unset: [], expiresAt });

  it('indexes each projection under the hub prefix by when it should end, due now once deleted, forgotten at the next purge', async () => {
    const key = `${subject.keyPrefix}a`;
    const expiresAt = nowSeconds(subject.clock) + 1800;
    await subject.store.write(write(key, expiresAt));
    expect(await subject.app.zscore(`${subject.prefix}projections`, key)).toBe(String(expiresAt));
    await subject.store.delete([key]);
    expect(await subject.app.zscore(`${subject.prefix}projections`, key)).toBe(String(nowSeconds(subject.clock)));
    expect(await subject.store.purgeExpired()).toBe(0);
    expect(await subject.app.zscore(`${subject.prefix}projections`, key)).toBeNull();
  });

  it('merges again when the application saved its session between our read and our write', async () => {
    const key = `${subject.keyPrefix}race`;
    await subject.app.set(key, 'cart|i:1;', 'EX', 60);
    // The application saves right after the store read the key.
    const client = subject.client as Redis;
    const read = client.getBuffer.bind(client);
    let raced = false;
    client.getBuffer = (async (k: string) => {
      const value = await read(k);
      if (!raced) {
        raced = true;
        await subject.app.set(key, 'cart|i:2;wish|s:4:"lamp";', 'EX', 60);
      }
      return value;
    }) as typeof client.getBuffer;
    expect(await subject.store.refresh(write(key, nowSeconds(subject.clock) + 1800))).toBe('written');
    expect(raced).toBe(true);
    expect(await subject.app.get(key)).toBe('cart|i:2;wish|s:4:"lamp";user_id|s:2:"u1";');
  });

  it('gives up with ERR_STORE_UNAVAILABLE when the key changes under every attempt, leaving it as the application wrote it', async () => {
    const key = `${subject.keyPrefix}busy`;
    await subject.app.set(key, 'n|i:0;', 'EX', 60);
    // Without auto-pipelining (the default): its pipelines would call the client's script functions, which this test replaces.
    const client = createRedisClient(redisUrl, { enableAutoPipelining: false });
    const store = new RedisProjectionStore(client, { clock: subject.clock, prefix: subject.prefix });
    const commands = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const swap = commands.tesseraProjectionSwapBuffer!.bind(client);
    let writes = 0;
    commands.tesseraProjectionSwapBuffer = async (...args: unknown[]) => {
      writes += 1;
      await subject.app.set(key, `n|i:${writes};`, 'EX', 60);
      return swap(...args);
    };
    expect(await codeOf(store.refresh(write(key, nowSeconds(subject.clock) + 1800)))).toBe('ERR_STORE_UNAVAILABLE');
    await closeRedisClient(client);
    expect(writes).toBe(8);
    expect(await subject.app.get(key)).toBe('n|i:8;');
  });

  it('keeps bytes that are not UTF-8 exactly as they are', async () => {
    const key = `${subject.keyPrefix}binary`;
    const bytes = Buffer.from('a:1:{s:1:"b";s:1:"\xff";}', 'latin1');
    await subject.app.set(key, bytes, 'EX', 60);
    expect(await subject.store.refresh({ ...write(key, nowSeconds(subject.clock) + 1800), format: 'php_serialize' })).toBe('unreadable');
    expect(await (subject.app as Redis).getBuffer(key)).toEqual(bytes);
    expect(await subject.app.ttl(key)).toBeGreaterThan(1790);
  });

  it('fails closed with ERR_STORE_UNAVAILABLE when Redis is gone', async () => {
    await closeRedisClient(subject.client);
    expect(await codeOf(subject.store.write(write(`${subject.keyPrefix}x`, nowSeconds(subject.clock) + 60)))).toBe('ERR_STORE_UNAVAILABLE');
    expect(await codeOf(subject.store.delete([`${subject.keyPrefix}x`]))).toBe('ERR_STORE_UNAVAILABLE');
  });
});
