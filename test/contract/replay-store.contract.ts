/**
 * The ReplayStore contract (src/ports.ts), run against every adapter by test/stores/*.test.ts.
 * Each test gets a fresh, empty store and a FrozenClock.
 */
import { nowSeconds, type FrozenClock } from '../../src/core/clock';
import type { ReplayStore } from '../../src/ports';

export interface ReplayStoreFixture {
  store: ReplayStore;
  clock: FrozenClock;
  /** Closes the store and opens a new one on the same data (adapters that persist). */
  reopen?: () => Promise<ReplayStore>;
  /** Closes whatever is open and removes the test's data. */
  cleanup: () => Promise<void>;
}

export interface ReplayContractOptions {
  /**
   * What the adapter promises once the injected clock passes a jti's `expiresAt`:
   * - `forgotten`: the jti may be remembered again (SQL and memory stores judge by the clock);
   * - `kept-until-server-expiry`: it stays remembered until the server expires the key by its
   *   own clock (Redis). Keeping a jti longer is always safe: its token has expired.
   */
  afterExpiry: 'forgotten' | 'kept-until-server-expiry';
  /** The adapter keeps its data across close and reopen; the fixture then has `reopen`. */
  persistent?: boolean;
}

export function replayStoreContract(name: string, factory: () => Promise<ReplayStoreFixture>, options: ReplayContractOptions): void {
  describe(`ReplayStore contract: ${name}`, () => {
    let fixture: ReplayStoreFixture;
    let store: ReplayStore;
    let clock: FrozenClock;
    let t0: number;

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
      clock = fixture.clock;
      t0 = nowSeconds(clock);
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    it('is true the first time a jti is seen and false after', async () => {
      expect(await store.rememberOnce('jti-a', t0 + 60)).toBe(true);
      expect(await store.rememberOnce('jti-a', t0 + 60)).toBe(false);
      expect(await store.rememberOnce('jti-a', t0 + 600)).toBe(false);
      expect(await store.rememberOnce('jti-b', t0 + 60)).toBe(true);
    });

    it('is true once per jti and sid', async () => {
      expect(await store.rememberOnce('jti-s', t0 + 60, 'sid-1')).toBe(true);
      expect(await store.rememberOnce('jti-s', t0 + 60, 'sid-1')).toBe(false);
    });

    it('of 200 concurrent calls for one jti, exactly one is true', async () => {
      const results = await Promise.all(Array.from({ length: 200 }, () => store.rememberOnce('jti-burst', t0 + 60)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('of 200 concurrent calls for one jti and sid, exactly one is true', async () => {
      const results = await Promise.all(Array.from({ length: 200 }, () => store.rememberOnce('jti-burst', t0 + 60, 'sid-burst')));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('remembers a jti until its expiresAt', async () => {
      expect(await store.rememberOnce('jti-until', t0 + 60, 'sid-1')).toBe(true);
      clock.set((t0 + 59) * 1000);
      expect(await store.rememberOnce('jti-until', t0 + 120, 'sid-1')).toBe(false);
    });

    if (options.afterExpiry === 'forgotten') {
      it('forgets a jti once the clock reaches its expiresAt', async () => {
        expect(await store.rememberOnce('jti-old', t0 + 60)).toBe(true);
        clock.set((t0 + 60) * 1000);
        expect(await store.rememberOnce('jti-old', t0 + 120)).toBe(true);
        expect(await store.rememberOnce('jti-old', t0 + 120)).toBe(false);
      });
    } else {
      it('keeps a jti past its expiresAt by the injected clock until the server expires it', async () => {
        expect(await store.rememberOnce('jti-old', t0 + 60)).toBe(true);
        clock.set((t0 + 60) * 1000);
        expect(await store.rememberOnce('jti-old', t0 + 120)).toBe(false);
      });
    }

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    (options.persistent === true ? it : it.skip)('keeps spent jtis across closing and reopening', async () => {
      expect(await store.rememberOnce('jti-durable', t0 + 60)).toBe(true);
      expect(await store.rememberOnce('jti-durable-sid', t0 + 60, 'sid-1')).toBe(true);
      if (fixture.reopen === undefined) throw new Error('a persistent adapter needs reopen()');
      store = await fixture.reopen();
      expect(await store.rememberOnce('jti-durable', t0 + 60)).toBe(false);
      expect(await store.rememberOnce('jti-durable-sid', t0 + 60, 'sid-1')).toBe(false);
      expect(await store.rememberOnce('jti-fresh', t0 + 60)).toBe(true);
    });
  });
}
