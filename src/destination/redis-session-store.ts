/**
 * Site sessions in Redis, for a site that runs several processes. `P` is the configured prefix
 * (default `tessera-site:`):
 *
 * | key               | type   | holds                                         | expires                     |
 * |-------------------|--------|-----------------------------------------------|-----------------------------|
 * | `P session:<key>` | string | the session as JSON (koa-session's data)      | with the session            |
 * | `P sid:<sid>`     | set    | keys of the sessions holding hub session sid  | with its longest session    |
 *
 * The two keys of one write live in different Cluster slots, so they are written one after the
 * other, session first: an index entry may briefly point at nothing (readers skip and prune
 * it), but a session is never missing from its index.
 */
import { guardStore } from '../stores/unavailable';
import type { RedisClient } from '../stores/redis/client';
import { sidOf, type SiteSessionStore } from './session-store';

/** Adds a member and extends the set's expiry, never shortening it (PTTL is -1 on a new set). */
const INDEX_ADD = `redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

/**
 * `SiteSessionStore` over Redis. The client is the caller's: `close()` of the SDK leaves it open.
 *
 * @example
 * const store = new RedisSiteSessionStore(redis, { prefix: 'tessera-site:' });
 */
export class RedisSiteSessionStore implements SiteSessionStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisClient,
    options: { prefix: string },
  ) {
    this.prefix = options.prefix;
  }

  get(key: string): Promise<Record<string, unknown> | null> {
    return guardStore('Redis site-session store', 'get', async () => parse(await this.redis.get(this.sessionKey(key))));
  }

  set(key: string, data: Record<string, unknown>, ttlMs: number): Promise<void> {
    return guardStore('Redis site-session store', 'set', async () => {
      const ttl = Math.max(1, Math.ceil(ttlMs));
      await this.redis.set(this.sessionKey(key), JSON.stringify(data), 'PX', ttl);
      const sid = sidOf(data);
      if (sid !== null) await this.redis.eval(INDEX_ADD, 1, this.indexKey(sid), key, ttl);
    });
  }

  destroy(key: string): Promise<void> {
    return guardStore('Redis site-session store', 'destroy', async () => {
      const data = parse(await this.redis.get(this.sessionKey(key)));
      await this.redis.del(this.sessionKey(key));
      const sid = data === null ? null : sidOf(data);
      if (sid !== null) await this.redis.srem(this.indexKey(sid), key);
    });
  }

  keysForSid(sid: string): Promise<string[]> {
    return guardStore('Redis site-session store', 'keysForSid', async () => {
      const keys = await this.redis.smembers(this.indexKey(sid));
      const alive = await Promise.all(keys.map((key) => this.redis.exists(this.sessionKey(key))));
      const dead = keys.filter((_, i) => alive[i] === 0);
      if (dead.length > 0) await this.redis.srem(this.indexKey(sid), ...dead);
      return keys.filter((_, i) => alive[i] === 1);
    });
  }

  destroyBySid(sid: string): Promise<number> {
    return guardStore('Redis site-session store', 'destroyBySid', async () => {
      const keys = await this.redis.smembers(this.indexKey(sid));
      // One DEL per key: the sessions sit in different Cluster slots.
      const removed = await Promise.all(keys.map((key) => this.redis.del(this.sessionKey(key))));
      await this.redis.del(this.indexKey(sid));
      return removed.reduce((sum, n) => sum + n, 0);
    });
  }

  private sessionKey(key: string): string {
    return `${this.prefix}session:${key}`;
  }

  private indexKey(sid: string): string {
    return `${this.prefix}sid:${sid}`;
  }
}

function parse(json: string | null): Record<string, unknown> | null {
  if (json === null) return null;
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
