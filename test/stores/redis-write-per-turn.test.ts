import crypto from 'node:crypto';
import { Redis, type Cluster } from 'ioredis';
import { closeRedisClient, createRedisClient } from '../../src/stores/redis/client';
import { describeWithRedis, redisUrl } from '../support/services';

/** The socket of a connected client, with the Writable internals these tests watch. */
type Socket = Redis['stream'] & { _writev?: (chunks: unknown[], done: (err?: Error | null) => void) => void };

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** Counts the socket's writes and how many commands each carried, by wrapping its write methods. */
function watchWrites(socket: Socket): number[] {
  const writes: number[] = [];
  const write = socket._write.bind(socket);
  socket._write = (chunk, encoding, done) => {
    writes.push(1);
    write(chunk, encoding, done);
  };
  const writev = socket._writev?.bind(socket);
  if (writev !== undefined) {
    socket._writev = (chunks, done) => {
      writes.push(chunks.length);
      writev(chunks, done);
    };
  }
  return writes;
}

describeWithRedis('Redis client: one socket write per turn of the event loop', () => {
  const prefix = `tessera-test:${crypto.randomBytes(6).toString('hex')}:turn:`;
  let redis: Redis;

  beforeEach(async () => {
    redis = createRedisClient(redisUrl) as Redis;
    redis.on('error', () => undefined);
    await redis.ping();
  });

  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await closeRedisClient(redis);
  });

  it('sends the commands issued in one turn in one write, and each gets its own reply', async () => {
    await nextTurn();
    const writes = watchWrites(redis.stream as Socket);
    const replies = Promise.all([redis.set(`${prefix}a`, 'one'), redis.set(`${prefix}b`, 'two'), redis.get(`${prefix}a`), redis.get(`${prefix}b`), redis.get(`${prefix}missing`)]);
    // Held until the turn's check phase: nothing has left yet.
    expect(redis.stream.writableCorked).toBe(1);
    expect(writes).toEqual([]);
    await expect(replies).resolves.toEqual(['OK', 'OK', 'one', 'two', null]);
    expect(writes).toEqual([5]);
    expect(redis.stream.writableCorked).toBe(0);
  });

  it('sends a command of a later turn in a write of its own, without waiting for more', async () => {
    await nextTurn();
    const writes = watchWrites(redis.stream as Socket);
    await expect(redis.set(`${prefix}c`, 'first')).resolves.toBe('OK');
    await expect(redis.get(`${prefix}c`)).resolves.toBe('first');
    expect(writes).toEqual([1, 1]);
  });

  it('keeps the order of commands and replies when turns interleave with replies', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `${prefix}n${i}`);
    await Promise.all(keys.map((key, i) => redis.set(key, String(i))));
    const rounds = await Promise.all(
      Array.from({ length: 5 }, async (_, round) => {
        await new Promise((resolve) => setTimeout(resolve, round));
        return Promise.all(keys.map((key) => redis.incr(key)));
      }),
    );
    // Every INCR saw the value the ones before it left: five turns, 50 keys each, in order.
    const finals = await Promise.all(keys.map((key) => redis.get(key)));
    expect(finals).toEqual(keys.map((_, i) => String(i + 5)));
    for (const values of rounds) expect(values.every((value, i) => value > i && value <= i + 5)).toBe(true);
  });

  it('corks the new socket after a reconnect, and commands still get their replies', async () => {
    const before = redis.stream;
    const ready = new Promise((resolve) => redis.once('ready', resolve));
    before.destroy();
    await ready;
    expect(redis.stream).not.toBe(before);
    await nextTurn();
    const writes = watchWrites(redis.stream as Socket);
    const replies = Promise.all([redis.set(`${prefix}r`, 'again'), redis.get(`${prefix}r`)]);
    expect(redis.stream.writableCorked).toBe(1);
    await expect(replies).resolves.toEqual(['OK', 'again']);
    expect(writes).toEqual([2]);
  });

  it('does the same on each node a Cluster client adds', async () => {
    // No cluster runs here: the Cluster client is told of a node as its connection pool tells it
    // ('+node', emitted as the pool creates each node, before any command goes to it).
    const cluster = createRedisClient('redis+cluster://10.0.0.1:7000', { lazyConnect: true }) as Cluster;
    const node = new Redis(redisUrl);
    node.on('error', () => undefined);
    try {
      cluster.emit('+node', node);
      await node.ping();
      await nextTurn();
      const writes = watchWrites(node.stream as Socket);
      const replies = Promise.all([node.ping(), node.echo('two')]);
      expect(node.stream.writableCorked).toBe(1);
      await expect(replies).resolves.toEqual(['PONG', 'two']);
      expect(writes).toEqual([2]);
    } finally {
      node.disconnect();
      cluster.disconnect();
    }
  });
});
