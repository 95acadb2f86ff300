/**
 * What every Redis store holds: the shared client, the injected clock (liveness is judged by it,
 * not by Redis' own expiry) and the key names of one prefix, plus its Lua scripts defined once on
 * the client (ioredis then sends EVALSHA, falling back to EVAL after a SCRIPT FLUSH).
 */
import type { Clock } from '../../core/clock';
import type { RedisClient } from './client';
import { RedisKeys } from './keys';

/** Options every Redis store takes. */
export interface RedisStoreOptions {
  clock: Clock;
  /** Namespace of the store's keys; default `tessera:`. */
  prefix?: string;
}

export abstract class RedisStore {
  protected readonly redis: RedisClient;
  protected readonly clock: Clock;
  protected readonly keys: RedisKeys;

  protected constructor(redis: RedisClient, options: RedisStoreOptions, scripts: Record<string, { numberOfKeys: number; lua: string }> = {}) {
    this.redis = redis;
    this.clock = options.clock;
    this.keys = new RedisKeys(options.prefix ?? 'tessera:');
    for (const [name, script] of Object.entries(scripts)) redis.defineCommand(name, script);
  }
}
