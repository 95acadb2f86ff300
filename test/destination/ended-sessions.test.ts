/**
 * The SDK's list of ended hub sessions, in memory and in Redis: a sid is remembered until its
 * time, then forgotten (by the clock in memory, by the key's expiry in Redis).
 */
import { randomBytes } from 'node:crypto';
import { FrozenClock, nowSeconds } from '../../src/core/clock';
import { MemoryEndedSessions, RedisEndedSessions } from '../../src/destination/ended-sessions';
import { closeRedisClient, createRedisClient, type RedisClient } from '../../src/stores/redis/client';
import { describeWithRedis, redisUrl } from '../support/services';

describe('MemoryEndedSessions', () => {
  it('remembers a sid until its time, never shortening it', async () => {
    const clock = new FrozenClock(Date.UTC(2026, 10, 22, 12, 0, 0));
    const ended = new MemoryEndedSessions(clock);
    const now = nowSeconds(clock);
    expect(await ended.has('sid-a')).toBe(false);
    await ended.add('sid-a', now + 125);
    await ended.add('sid-a', now + 10);
    expect(await ended.has('sid-a')).toBe(true);
    expect(await ended.has('sid-b')).toBe(false);
    clock.advance(124_000);
    expect(await ended.has('sid-a')).toBe(true);
    clock.advance(1_000);
    ended.purgeExpired();
    expect(await ended.has('sid-a')).toBe(false);
  });
});

describeWithRedis('RedisEndedSessions', () => {
  let redis: RedisClient;
  const prefix = `tessera-test-ended-${randomBytes(6).toString('hex')}:`;

  beforeAll(() => {
    redis = createRedisClient(redisUrl);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await closeRedisClient(redis);
  });

  it('stores the sid under the prefix with an absolute expiry', async () => {
    const ended = new RedisEndedSessions(redis, prefix);
    const until = Math.floor(Date.now() / 1000) + 125;
    expect(await ended.has('sid-a')).toBe(false);
    await ended.add('sid-a', until);
    expect(await ended.has('sid-a')).toBe(true);
    expect(await ended.has('sid-b')).toBe(false);
    expect(await redis.expiretime(`${prefix}ended:sid-a`)).toBe(until);
  });
});
