/**
 * Hub sessions this site was told have ended (back-channel or front-channel logout, or a status
 * check that found the sid inactive). A handoff token for such a sid may still be unexpired;
 * the receiver refuses it (`ERR_HANDOFF_SESSION_ENDED`). A sid is remembered only as long as a
 * token minted before its end can live (the longest handoff lifetime plus the clock tolerance):
 * after that no such token exists, and a sid is never reused.
 */
import type { Clock } from '../core/clock';
import { nowSeconds } from '../core/clock';
import type { RedisClient } from '../stores/redis/client';
import { guardStore } from '../stores/unavailable';

export interface EndedSessions {
  /** Remembers that `sid` ended, until `untilSeconds` (Unix seconds). */
  add(sid: string, untilSeconds: number): Promise<void>;
  /** Whether `sid` is remembered as ended. */
  has(sid: string): Promise<boolean>;
}

/** In process memory, for a site that runs as one process (and for tests). */
export class MemoryEndedSessions implements EndedSessions {
  private readonly until = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  async add(sid: string, untilSeconds: number): Promise<void> {
    this.until.set(sid, Math.max(untilSeconds, this.until.get(sid) ?? 0));
  }

  async has(sid: string): Promise<boolean> {
    const until = this.until.get(sid);
    if (until === undefined) return false;
    if (until > nowSeconds(this.clock)) return true;
    this.until.delete(sid);
    return false;
  }

  /** Forgets sids past their time; the SDK calls this on a timer. */
  purgeExpired(): void {
    const now = nowSeconds(this.clock);
    for (const [sid, until] of this.until) if (until <= now) this.until.delete(sid);
  }
}

/** In Redis under `<prefix>ended:<sid>`, expiring by itself, shared by every process of the site. */
export class RedisEndedSessions implements EndedSessions {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  add(sid: string, untilSeconds: number): Promise<void> {
    return guardStore('Redis ended-session list', 'add', async () => {
      await this.redis.set(`${this.prefix}ended:${sid}`, '1', 'EXAT', untilSeconds);
    });
  }

  has(sid: string): Promise<boolean> {
    return guardStore('Redis ended-session list', 'has', async () => (await this.redis.exists(`${this.prefix}ended:${sid}`)) === 1);
  }
}
