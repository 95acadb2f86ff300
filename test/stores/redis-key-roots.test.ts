/**
 * The configuration refuses a projection `keyPrefix` that could reach the hub's own Redis keys
 * (src/config/schema.ts) by the roots it knows those keys by: every key `RedisKeys` makes, and
 * the rate limiter's, must start with the store prefix and one of them, or a new kind of key would
 * be open to an application writing under its projection prefix.
 */
import { HUB_REDIS_KEY_ROOTS } from '../../src/config/schema';
import { RedisKeys } from '../../src/stores/redis/keys';

describe('the Redis key roots the configuration protects', () => {
  const prefix = 'p:';
  const keys = new RedisKeys(prefix);
  const methods = Object.getOwnPropertyNames(RedisKeys.prototype).filter((name) => name !== 'constructor');

  it.each(methods)('cover RedisKeys.%s', (name) => {
    const make = (keys as unknown as Record<string, (...args: string[]) => unknown>)[name]!;
    const key = make.call(keys, 'a', 'b', 'c');
    expect(typeof key).toBe('string');
    expect(HUB_REDIS_KEY_ROOTS.some((root) => (key as string).startsWith(`${prefix}${root}`))).toBe(true);
  });

  it('cover the rate limits', () => {
    expect(HUB_REDIS_KEY_ROOTS).toContain('rl:');
  });
});
