/**
 * The jti replay cache in Redis: `SET key 1 NX PX ttl`, one atomic command, so of any number of
 * concurrent calls for one jti, on any number of hub instances, exactly one is first. Keys are
 * described in ./keys.ts.
 */
import type { ReplayStore } from '../../ports';
import { guardStore } from '../unavailable';
import { closeRedisClient, type RedisClient } from './client';
import { RedisStore, type RedisStoreOptions } from './store';

/**
 * `ReplayStore` over Redis. A jti with a `sid` is kept in that session's hash slot, the key
 * `RedisSessionStore.acceptHandoff` uses, so either path sees a jti the other spent.
 *
 * A jti is remembered until Redis expires its key: `expiresAt` minus the injected clock's now,
 * counted by the Redis server. So unlike the SQL and memory stores, moving only the injected
 * clock past `expiresAt` does not make it forgettable; keeping a jti longer than asked is
 * always safe, since its token has expired by then.
 *
 * @example
 * const replay = new RedisReplayStore(redis, { clock: systemClock, prefix: 'tessera:' });
 * if (!(await replay.rememberOnce(claims.jti, claims.exp + tolerance, claims.sid))) reject();
 */
export class RedisReplayStore extends RedisStore implements ReplayStore {
  constructor(redis: RedisClient, options: RedisStoreOptions) {
    super(redis, options);
  }

  rememberOnce(jti: string, expiresAt: number, sid?: string): Promise<boolean> {
    const key = sid === undefined ? this.keys.jti(jti) : this.keys.sessionJti(sid, jti);
    const ttl = Math.max(1, Math.floor(expiresAt * 1000 - this.clock.now()));
    return guardStore('Redis replay store', 'rememberOnce', async () => (await this.redis.set(key, '1', 'PX', ttl, 'NX')) === 'OK');
  }

  ping(): Promise<void> {
    return guardStore('Redis replay store', 'ping', async () => {
      await this.redis.ping();
    });
  }

  close(): Promise<void> {
    return closeRedisClient(this.redis);
  }
}
