/**
 * Time comes from an injected clock so that tests freeze it to an exact second instead of
 * sleeping. `now()` is milliseconds since the Unix epoch; stored records use whole Unix seconds.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Whole Unix seconds for the clock's current time. */
export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}

/**
 * A clock for tests that only moves when told to.
 *
 * @example
 * const clock = new FrozenClock(1_700_000_000_000);
 * clock.advance(31_000);
 */
export class FrozenClock implements Clock {
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  set(ms: number): void {
    this.current = ms;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}
