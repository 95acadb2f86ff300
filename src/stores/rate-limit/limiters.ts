/**
 * Rate limiters for the login hub (SECURITY.md "Login and e-mail": brute-force limits per account
 * and per client address), built on rate-limiter-flexible. The counters live in the same store
 * as the sessions, so every hub instance on that store spends one shared budget: an attacker
 * gains nothing by spreading attempts over instances.
 *
 * - Redis: one atomic Lua script per event, keys `${prefix}rl:${name}:<sha256 of key>`.
 * - SQLite: table `rate_limits` (created by the library), rows keyed `rl:${name}:<sha256 of key>`.
 * - memory: one process only, for tests.
 *
 * Keys are e-mail addresses and client addresses: they are hashed before they reach the store,
 * so no address ever appears in a Redis key, a SQLite row or a log line derived from them.
 * Store failures reject with `ERR_STORE_UNAVAILABLE` so the login route fails closed (503).
 */
import { createHash } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import type { Cluster, Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RateLimiterSQLite, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { TesseraError } from '../../core/errors';
import type { RateLimiter, RateLimitResult } from '../../ports';
import { guardStore } from '../unavailable';

/** Where the counters live. */
export type RateLimitBackend =
  /** This process only: every instance and every restart starts from a full budget. Tests / single process only. */
  | { kind: 'memory' }
  /** One SQLite file, shared by the hub processes of one machine. */
  | { kind: 'sqlite'; db: BetterSqlite3.Database }
  /** Redis (standalone, Sentinel or Cluster), shared by every hub instance. */
  | { kind: 'redis'; client: Redis | Cluster; prefix: string };

export interface RateLimiterOptions {
  /** Names the budget in store keys (`login-account`, `login-ip`); lower-case letters, digits, `-`. */
  name: string;
  /** Events allowed per window; a positive integer. */
  points: number;
  /** Length of the window, in whole seconds, starting at the key's first event. */
  durationSeconds: number;
  /**
   * Once the budget is exceeded, refuse for this many seconds from that moment instead of until
   * the window ends. Default 0: no extra block.
   */
  blockSeconds?: number;
}

/** The SQLite table holding every limiter's counters (one row per name and key). */
const sqliteTable = 'rate_limits';

const limiterName = /^[a-z0-9][a-z0-9-]{0,39}$/;

/**
 * A budget of `options.points` events per `options.durationSeconds` per key. Two limiters with
 * the same name over the same SQLite file or Redis keyspace share their counters.
 *
 * @example
 * const perAccount = createRateLimiter({ kind: 'redis', client, prefix: 'tessera:' },
 *   { name: 'login-account', points: 10, durationSeconds: 900 });
 * const result = await perAccount.consume(normalizeEmail(email));
 * if (!result.allowed) ctx.set('Retry-After', String(result.retryAfterSeconds));
 */
export function createRateLimiter(backend: RateLimitBackend, options: RateLimiterOptions): RateLimiter {
  const { name, points, durationSeconds, blockSeconds = 0 } = options;
  if (!limiterName.test(name)) {
    throw new TesseraError('ERR_CONFIG_INVALID', `rate limiter name "${name}" must be 1-40 lower-case letters, digits or "-"`);
  }
  if (!Number.isSafeInteger(points) || points < 1) {
    throw new TesseraError('ERR_CONFIG_INVALID', `rate limiter "${name}": "points" must be a positive integer`);
  }
  // Redis expiries are whole seconds (the library floors them), so fractions would silently change the window.
  if (!Number.isSafeInteger(durationSeconds) || durationSeconds < 1) {
    throw new TesseraError('ERR_CONFIG_INVALID', `rate limiter "${name}": "durationSeconds" must be a positive integer`);
  }
  if (!Number.isSafeInteger(blockSeconds) || blockSeconds < 0) {
    throw new TesseraError('ERR_CONFIG_INVALID', `rate limiter "${name}": "blockSeconds" must be a non-negative integer`);
  }
  const common = { points, duration: durationSeconds, blockDuration: blockSeconds };
  const label = `${backend.kind} rate limiter "${name}"`;
  switch (backend.kind) {
    case 'memory':
      return new LibraryRateLimiter(label, points, () => Promise.resolve(new RateLimiterMemory({ ...common, keyPrefix: `rl:${name}` })));
    case 'redis': {
      const limiter = new RateLimiterRedis({ ...common, storeClient: backend.client, keyPrefix: `${backend.prefix}rl:${name}` });
      return new LibraryRateLimiter(label, points, () => Promise.resolve(limiter));
    }
    case 'sqlite':
      return new LibraryRateLimiter(label, points, () => openSqliteLimiter(backend.db, { ...common, keyPrefix: `rl:${name}` }));
  }
}

/**
 * The library creates its table asynchronously after construction and refuses every call
 * until then; its ready callback tells when the table exists (or why it could not be made).
 */
function openSqliteLimiter(db: BetterSqlite3.Database, options: { points: number; duration: number; blockDuration: number; keyPrefix: string }): Promise<RateLimiterSQLite> {
  return new Promise((resolve, reject) => {
    const limiter: RateLimiterSQLite = new RateLimiterSQLite(
      { ...options, storeClient: db, storeType: 'better-sqlite3', tableName: sqliteTable },
      (err) => (err === undefined ? resolve(limiter) : reject(err)),
    );
  });
}

/** SHA-256 (hex) of a user-controlled key: fixed length, and no e-mail address in the store. */
function storeKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Whole seconds, rounded up so a client that waits exactly this long is allowed again. */
function retryAfter(msBeforeNext: number): number {
  return Math.max(1, Math.ceil(msBeforeNext / 1000));
}

class LibraryRateLimiter implements RateLimiter {
  private pending: Promise<RateLimiterAbstract> | null = null;

  constructor(
    private readonly label: string,
    private readonly points: number,
    private readonly open: () => Promise<RateLimiterAbstract>,
  ) {}

  consume(key: string): Promise<RateLimitResult> {
    return guardStore(this.label, 'consume', async () => {
      const limiter = await this.limiter();
      try {
        const res = await limiter.consume(storeKey(key));
        return { allowed: true, retryAfterSeconds: 0, remaining: res.remainingPoints };
      } catch (err) {
        // The library rejects with its result object when the budget is spent, and with an
        // Error when the store fails; only the latter is ERR_STORE_UNAVAILABLE.
        if (err instanceof RateLimiterRes) return { allowed: false, retryAfterSeconds: retryAfter(err.msBeforeNext), remaining: 0 };
        throw err;
      }
    });
  }

  peek(key: string): Promise<RateLimitResult> {
    return guardStore(this.label, 'peek', async () => {
      const limiter = await this.limiter();
      const res = await limiter.get(storeKey(key));
      // The memory store may still hold a window that ended but whose timer has not yet run.
      if (res === null || res.msBeforeNext <= 0) return { allowed: true, retryAfterSeconds: 0, remaining: this.points };
      const remaining = Math.max(this.points - res.consumedPoints, 0);
      return remaining > 0 ? { allowed: true, retryAfterSeconds: 0, remaining } : { allowed: false, retryAfterSeconds: retryAfter(res.msBeforeNext), remaining: 0 };
    });
  }

  reset(key: string): Promise<void> {
    return guardStore(this.label, 'reset', async () => {
      const limiter = await this.limiter();
      await limiter.delete(storeKey(key));
    });
  }

  /** Opens the library's limiter once; a failed open is retried by the next call, so the limiter recovers with its store. */
  private limiter(): Promise<RateLimiterAbstract> {
    this.pending ??= this.open().catch((err: unknown) => {
      this.pending = null;
      throw err;
    });
    return this.pending;
  }
}
