/**
 * Session projections in Redis: the hub writes a site session where the site's own application
 * reads its sessions, e.g. PHP's redis handler under `PHPREDIS_SESSION:<session id>` (DESIGN.md
 * "hub as receiver"). The key is the site's `projection.keyPrefix` followed by the site cookie
 * value, so it lives outside the hub's prefix and outside the session's hash slot: writing it is
 * a round trip of its own after the handoff's, on the accept path of projected sites only.
 *
 * Merging with what the application stored is optimistic, a compare-and-set script: read the
 * value, merge in JavaScript (src/core/projection/plan.ts), then write only if the key still
 * holds exactly the bytes read, else merge again with what it holds now. Not WATCH/MULTI: every
 * store shares one connection, and an EXEC of any transaction on it clears every
 * WATCH of that connection, so concurrent merges would silently lose their protection. The
 * script is one key, so it runs on Redis Cluster as well.
 *
 * `P projections` (./keys.ts) indexes every projection by the time it should end. PHP moves a
 * key's TTL to `session.gc_maxlifetime` on each request by itself, so the TTL alone could keep a
 * projection alive after its session ended; `purgeExpired`, run by the hub's periodic purge,
 * deletes those.
 */
import { planProjection, projectionContention } from '../../core/projection/plan';
import type { ProjectionOutcome, ProjectionStore, ProjectionWrite } from '../../ports';
import { guardStore } from '../unavailable';
import { closeRedisClient, type RedisClient } from './client';
import { RedisStore, type RedisStoreOptions } from './store';

/** Merges retried against concurrent writers before giving up with ERR_STORE_UNAVAILABLE. */
const maxAttempts = 8;
/** Index members handled per round trip by `purgeExpired`. */
const purgeBatch = 100;

const scripts = {
  // Sets (or only re-expires) the key if it still holds what the caller read: nothing
  // (ARGV[1] 'absent') or exactly ARGV[2]. Else returns {0, current value} ({0} when none).
  // KEYS: projection. ARGV: 'absent'|'value', expected, 'set'|'expire', new value, ttl ms.
  tesseraProjectionSwap: {
    numberOfKeys: 1,
    lua: `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == 'absent' then
  if current then return {0, current} end
elseif not current then
  return {0}
elseif current ~= ARGV[2] then
  return {0, current}
end
if ARGV[3] == 'set' then
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return {1}`,
  },
  // Drops an index member whose time has come (a refresh may have moved it since it was listed).
  // KEYS: index. ARGV: member, now.
  tesseraProjectionUnindexDue: {
    numberOfKeys: 1,
    lua: `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0`,
  },
} as const;

type SwapReply = [number] | [number, Buffer];

interface ProjectionCommands {
  tesseraProjectionSwapBuffer(key: string, expected: 'absent' | 'value', value: Buffer | string, action: 'set' | 'expire', next: string, ttlMs: number): Promise<SwapReply>;
  tesseraProjectionUnindexDue(index: string, member: string, now: number): Promise<number>;
}

/**
 * `ProjectionStore` over Redis. Share the session store's client.
 *
 * @example
 * const projections = new RedisProjectionStore(redis, { clock: systemClock, prefix: 'tessera:' });
 * await projections.write({ key: 'PHPREDIS_SESSION:' + cookieValue, format: 'php_serialize', fields, unset: [], expiresAt });
 */
export class RedisProjectionStore extends RedisStore implements ProjectionStore {
  /** @param options.prefix - the hub's key prefix, for the index only (projections use each site's own). */
  constructor(redis: RedisClient, options: RedisStoreOptions) {
    super(redis, options, scripts);
  }

  write(projection: ProjectionWrite): Promise<ProjectionOutcome> {
    return guardStore('Redis projection store', 'write', () => this.apply(projection, false));
  }

  refresh(projection: ProjectionWrite): Promise<ProjectionOutcome> {
    return guardStore('Redis projection store', 'refresh', () => this.apply(projection, true));
  }

  delete(keys: readonly string[]): Promise<void> {
    return guardStore('Redis projection store', 'delete', async () => {
      if (keys.length === 0) return;
      // One DEL per key: in a Cluster the keys live in different slots. The index keeps each key,
      // due now: the application may write a session it read before this delete back after it
      // (PHP saves the whole session at the end of a request, without a lock), and the next
      // purge deletes that too.
      const now = Math.floor(this.clock.now() / 1000);
      await Promise.all([...keys.map((key) => this.redis.del(key)), this.redis.zadd(this.keys.projections(), ...keys.flatMap((key) => [now, key]))]);
    });
  }

  purgeExpired(): Promise<number> {
    return guardStore('Redis projection store', 'purgeExpired', async () => {
      const now = Math.floor(this.clock.now() / 1000);
      const index = this.keys.projections();
      let removed = 0;
      for (;;) {
        const due = await this.redis.zrangebyscore(index, '-inf', now, 'LIMIT', 0, purgeBatch);
        const deleted = await Promise.all(
          due.map(async (key) => ((await this.commands().tesseraProjectionUnindexDue(index, key, now)) === 1 ? this.redis.del(key) : 0)),
        );
        removed += deleted.reduce((sum: number, n) => sum + n, 0);
        if (due.length < purgeBatch) return removed;
      }
    });
  }

  ping(): Promise<void> {
    return guardStore('Redis projection store', 'ping', async () => {
      await this.redis.ping();
    });
  }

  close(): Promise<void> {
    return closeRedisClient(this.redis);
  }

  private async apply(projection: ProjectionWrite, onlyExisting: boolean): Promise<ProjectionOutcome> {
    const { key } = projection;
    const ttlMs = Math.floor(projection.expiresAt * 1000 - this.clock.now());
    if (ttlMs <= 0) {
      await Promise.all([this.redis.del(key), this.redis.zrem(this.keys.projections(), key)]);
      return 'absent';
    }
    // A write on the accept path names a brand-new key (it holds a fresh 256-bit secret), so it
    // first assumes there is none: one round trip, the index entry riding in the same batch. A
    // refresh reads first.
    let stored: Buffer | null = onlyExisting ? await this.redis.getBuffer(key) : null;
    const indexed = this.redis.zadd(this.keys.projections(), projection.expiresAt, key);
    // Awaited in `finally`; until then a rejection must not count as unhandled.
    indexed.catch(() => undefined);
    try {
      for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
        if (stored === null && onlyExisting) {
          await indexed;
          await this.redis.zrem(this.keys.projections(), key);
          return 'absent';
        }
        const plan = planProjection(stored, projection);
        const [swapped, current] = await this.commands().tesseraProjectionSwapBuffer(
          key,
          stored === null ? 'absent' : 'value',
          stored ?? '',
          plan.outcome === 'written' ? 'set' : 'expire',
          plan.outcome === 'written' ? plan.value : '',
          ttlMs,
        );
        if (swapped === 1) return plan.outcome;
        stored = current ?? null;
      }
      throw projectionContention();
    } finally {
      await indexed;
    }
  }

  private commands(): ProjectionCommands {
    return this.redis as unknown as ProjectionCommands;
  }
}
