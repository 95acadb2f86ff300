/**
 * The RateLimiter contract (ports.ts) against every backend of src/stores/rate-limit/limiters.ts,
 * plus what only some backends can show: counters shared between hub instances, hashed keys in
 * the store, failing closed when the store is down, and budgets coming back after the window.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import Redis from 'ioredis';
import type { RateLimiter } from '../../src/ports';
import { createRateLimiter, type RateLimiterOptions } from '../../src/stores/rate-limit/limiters';
import { openDatabase } from '../../src/stores/sqlite/database';
import { describeWithRedis, redisUrl } from '../support/services';
import { codeOf } from '../support/errors';

const start = 1_700_000_000_000;
const email = 'ada@example.org';
const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');


async function consumeTimes(limiter: RateLimiter, key: string, times: number): Promise<boolean[]> {
  const allowed: boolean[] = [];
  for (let i = 0; i < times; i += 1) allowed.push((await limiter.consume(key)).allowed);
  return allowed;
}

/** What every backend must do. `make` builds one limiter over the backend's (one) store. */
function describeRateLimiterContract(make: (options: RateLimiterOptions) => RateLimiter): void {
  it('allows `points` events, then refuses until the window ends', async () => {
    const limiter = make({ name: 'login-account', points: 3, durationSeconds: 60 });
    const results = [];
    for (let i = 0; i < 4; i += 1) results.push(await limiter.consume(email));
    expect(results.slice(0, 3)).toEqual([
      { allowed: true, retryAfterSeconds: 0, remaining: 2 },
      { allowed: true, retryAfterSeconds: 0, remaining: 1 },
      { allowed: true, retryAfterSeconds: 0, remaining: 0 },
    ]);
    expect(results[3]).toEqual({ allowed: false, retryAfterSeconds: expect.any(Number), remaining: 0 });
    expect(results[3]?.retryAfterSeconds).toBeGreaterThan(0);
    expect(results[3]?.retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it('refuses for blockSeconds once the budget is exceeded', async () => {
    const limiter = make({ name: 'login-ip', points: 1, durationSeconds: 60, blockSeconds: 600 });
    expect((await limiter.consume('203.0.113.7')).allowed).toBe(true);
    const refused = await limiter.consume('203.0.113.7');
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeGreaterThan(60);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(600);
    expect((await limiter.peek('203.0.113.7')).retryAfterSeconds).toBeGreaterThan(60);
  });

  it('peek reports the budget without counting an event', async () => {
    const limiter = make({ name: 'login-account', points: 2, durationSeconds: 60 });
    expect(await limiter.peek(email)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 2 });
    expect(await limiter.peek(email)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 2 });
    await limiter.consume(email);
    expect(await limiter.peek(email)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 1 });
    await limiter.consume(email);
    const blocked = await limiter.peek(email);
    expect(blocked.allowed).toBe(false);
    expect(blocked.remaining).toBe(0);
    expect(blocked.retryAfterSeconds).toBeGreaterThan(0);
    expect(blocked.retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it('reset gives the key its full budget back', async () => {
    const limiter = make({ name: 'login-account', points: 2, durationSeconds: 60, blockSeconds: 300 });
    expect(await consumeTimes(limiter, email, 3)).toEqual([true, true, false]);
    await limiter.reset(email);
    expect(await limiter.peek(email)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 2 });
    expect(await limiter.consume(email)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 1 });
  });

  it('keeps keys and limiter names apart', async () => {
    const accounts = make({ name: 'login-account', points: 1, durationSeconds: 60 });
    const addresses = make({ name: 'login-ip', points: 1, durationSeconds: 60 });
    expect(await consumeTimes(accounts, email, 2)).toEqual([true, false]);
    expect((await accounts.consume('bob@example.org')).allowed).toBe(true);
    expect((await addresses.consume(email)).allowed).toBe(true);
  });

}

/** Two limiter objects over one store: what two hub instances see. */
function describeSharedCounters(makeInstances: (options: RateLimiterOptions) => [RateLimiter, RateLimiter]): void {
  it('shares counters between hub instances', async () => {
    const [first, second] = makeInstances({ name: 'login-account', points: 2, durationSeconds: 60 });
    expect(await consumeTimes(first, email, 2)).toEqual([true, true]);
    expect((await second.peek(email)).allowed).toBe(false);
    expect((await second.consume(email)).allowed).toBe(false);
    await second.reset(email);
    expect(await first.consume(email)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 1 });
  });
}

describe('createRateLimiter options', () => {
  it.each([
    ['a name with capitals and spaces', { name: 'Login Account', points: 1, durationSeconds: 60 }],
    ['no points', { name: 'login', points: 0, durationSeconds: 60 }],
    ['fractional points', { name: 'login', points: 1.5, durationSeconds: 60 }],
    ['a fractional window', { name: 'login', points: 1, durationSeconds: 0.5 }],
    ['a negative block', { name: 'login', points: 1, durationSeconds: 60, blockSeconds: -1 }],
  ])('rejects %s with ERR_CONFIG_INVALID', (_label, options) => {
    expect(() => createRateLimiter({ kind: 'memory' }, options)).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
  });
});

describe('memory rate limiter', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  describeRateLimiterContract((options) => createRateLimiter({ kind: 'memory' }, options));

  it('allows events again once the window or the block has passed', async () => {
    jest.useFakeTimers({ now: start });
    const window = createRateLimiter({ kind: 'memory' }, { name: 'login-account', points: 1, durationSeconds: 60 });
    const block = createRateLimiter({ kind: 'memory' }, { name: 'login-ip', points: 1, durationSeconds: 60, blockSeconds: 300 });
    expect(await consumeTimes(window, email, 2)).toEqual([true, false]);
    expect(await consumeTimes(block, email, 2)).toEqual([true, false]);

    jest.advanceTimersByTime(59_500);
    expect(await window.peek(email)).toEqual({ allowed: false, retryAfterSeconds: 1, remaining: 0 });
    jest.advanceTimersByTime(500);
    expect(await window.consume(email)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 0 });
    expect(await block.peek(email)).toEqual({ allowed: false, retryAfterSeconds: 240, remaining: 0 });

    jest.advanceTimersByTime(240_000);
    expect(await block.consume(email)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 0 });
  });
});

describe('SQLite rate limiter', () => {
  let dir: string;
  let file: string;
  let db: BetterSqlite3.Database;
  const extraConnections: BetterSqlite3.Database[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-rl-'));
    file = path.join(dir, 'tessera.db');
    db = openDatabase(file);
  });

  afterEach(() => {
    jest.useRealTimers();
    for (const connection of extraConnections.splice(0)) connection.close();
    if (db.open) db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describeRateLimiterContract((options) => createRateLimiter({ kind: 'sqlite', db }, options));

  describeSharedCounters((options) => {
    // A second connection to the same file, as a second hub process on this machine would open.
    const other = openDatabase(file);
    extraConnections.push(other);
    return [createRateLimiter({ kind: 'sqlite', db }, options), createRateLimiter({ kind: 'sqlite', db: other }, options)];
  });

  it('stores a hash of the key in the rate_limits table, never the key', async () => {
    await createRateLimiter({ kind: 'sqlite', db }, { name: 'login-account', points: 5, durationSeconds: 60 }).consume(email);
    const rows = db.prepare('SELECT key, points FROM rate_limits').all();
    expect(rows).toEqual([{ key: `rl:login-account:${sha256(email)}`, points: 1 }]);
  });

  it('allows events again once the window has passed', async () => {
    jest.useFakeTimers({ now: start });
    const limiter = createRateLimiter({ kind: 'sqlite', db }, { name: 'login-account', points: 1, durationSeconds: 60 });
    expect(await consumeTimes(limiter, email, 2)).toEqual([true, false]);
    jest.advanceTimersByTime(59_000);
    expect(await limiter.consume(email)).toEqual({ allowed: false, retryAfterSeconds: 1, remaining: 0 });
    jest.advanceTimersByTime(1_000);
    expect(await limiter.consume(email)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 0 });
  });

  it('fails closed with ERR_STORE_UNAVAILABLE when the database is gone', async () => {
    const limiter = createRateLimiter({ kind: 'sqlite', db }, { name: 'login-account', points: 5, durationSeconds: 60 });
    await limiter.consume(email);
    db.close();
    expect(await codeOf(limiter.consume(email))).toBe('ERR_STORE_UNAVAILABLE');
    expect(await codeOf(limiter.peek(email))).toBe('ERR_STORE_UNAVAILABLE');
    expect(await codeOf(limiter.reset(email))).toBe('ERR_STORE_UNAVAILABLE');
    // Before the table exists too: the library's setup fails, and so does every call.
    const late = createRateLimiter({ kind: 'sqlite', db }, { name: 'login-ip', points: 5, durationSeconds: 60 });
    expect(await codeOf(late.consume(email))).toBe('ERR_STORE_UNAVAILABLE');
  });
});

describeWithRedis('Redis rate limiter', () => {
  const prefix = `tessera-test-${randomBytes(6).toString('hex')}:`;
  let client: Redis;
  let second: Redis;

  beforeAll(() => {
    client = new Redis(redisUrl);
    second = new Redis(redisUrl);
  });

  afterEach(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
  });

  afterAll(async () => {
    await client.quit();
    await second.quit();
  });

  describeRateLimiterContract((options) => createRateLimiter({ kind: 'redis', client, prefix }, options));

  describeSharedCounters((options) => [
    createRateLimiter({ kind: 'redis', client, prefix }, options),
    createRateLimiter({ kind: 'redis', client: second, prefix }, options),
  ]);

  it('keys counters by a hash of the key under the prefix, with the window as TTL', async () => {
    await createRateLimiter({ kind: 'redis', client, prefix }, { name: 'login-account', points: 5, durationSeconds: 60 }).consume(email);
    const key = `${prefix}rl:login-account:${sha256(email)}`;
    expect(await client.keys(`${prefix}*`)).toEqual([key]);
    expect(await client.get(key)).toBe('1');
    const ttl = await client.pttl(key);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('allows events again once the window has passed', async () => {
    // Redis expires the key on its own clock, so this is the one test that waits for real.
    const limiter = createRateLimiter({ kind: 'redis', client, prefix }, { name: 'login-account', points: 1, durationSeconds: 1 });
    expect(await consumeTimes(limiter, email, 2)).toEqual([true, false]);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await limiter.consume(email)).toEqual({ allowed: true, retryAfterSeconds: 0, remaining: 0 });
  });

  it('fails closed with ERR_STORE_UNAVAILABLE, quickly, when Redis does not answer', async () => {
    const port = await closedPort();
    const down = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => null });
    down.on('error', () => undefined);
    try {
      const limiter = createRateLimiter({ kind: 'redis', client: down, prefix }, { name: 'login-account', points: 5, durationSeconds: 60 });
      const began = Date.now();
      const failure = await limiter.consume(email).catch((err: unknown) => err as Error & { code?: string; cause?: unknown });
      expect(failure).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', status: 503, cause: expect.any(Error) });
      expect(String((failure as Error).message)).not.toContain(email);
      expect(await codeOf(limiter.peek(email))).toBe('ERR_STORE_UNAVAILABLE');
      expect(await codeOf(limiter.reset(email))).toBe('ERR_STORE_UNAVAILABLE');
      expect(Date.now() - began).toBeLessThan(1_000);
    } finally {
      down.disconnect();
    }
  });
});

/** A local port nobody listens on: bound by the OS, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
