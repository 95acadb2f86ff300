/**
 * The jti replay cache in process memory. For tests only: it is neither shared between hub
 * instances nor kept across restarts, so in production a token could be replayed against
 * another instance or after a restart (the composition root warns when it is configured).
 */
import { nowSeconds, type Clock } from '../../core/clock';
import type { ReplayStore } from '../../ports';

/**
 * `ReplayStore` over a `Map`. A jti is remembered while `expiresAt > now` by the injected clock;
 * after that it may be remembered again. The `sid` scope is ignored: jtis are global here, which
 * is stricter than the port asks.
 *
 * @example
 * const replay = new MemoryReplayStore({ clock: new FrozenClock(Date.now()) });
 * await replay.rememberOnce(jti, exp); // true, then false
 */
export class MemoryReplayStore implements ReplayStore {
  private readonly clock: Clock;
  private readonly jtis = new Map<string, number>();

  constructor(options: { clock: Clock }) {
    this.clock = options.clock;
  }

  // Check and set happen in one synchronous turn of the event loop, so concurrent calls cannot
  // interleave between them: of many calls for one jti exactly one sees it unrecorded.
  async rememberOnce(jti: string, expiresAt: number, _sid?: string): Promise<boolean> {
    const now = nowSeconds(this.clock);
    const until = this.jtis.get(jti);
    if (until !== undefined && until > now) return false;
    this.jtis.set(jti, expiresAt);
    return true;
  }

  /** Forgets expired jtis; returns how many. */
  async purgeExpired(): Promise<number> {
    const now = nowSeconds(this.clock);
    let removed = 0;
    for (const [jti, until] of this.jtis) {
      if (until <= now) {
        this.jtis.delete(jti);
        removed += 1;
      }
    }
    return removed;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
