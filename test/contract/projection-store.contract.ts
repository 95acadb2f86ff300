/**
 * The ProjectionStore contract (src/ports.ts), run against every adapter by
 * test/stores/projection-store.test.ts. Each test gets a fresh store, a FrozenClock, and a way to
 * look at the stored bytes and to play the application (PHP saving its session with its own TTL).
 */
import { nowSeconds, type FrozenClock } from '../../src/core/clock';
import type { ProjectionStore, ProjectionWrite } from '../../src/ports';

export interface ProjectionStoreFixture {
  store: ProjectionStore;
  clock: FrozenClock;
  /** Prefix for the keys of this test (the site's `keyPrefix`). */
  keyPrefix: string;
  /** The stored text at `key`, or null. */
  raw(key: string): Promise<string | null>;
  /** Seconds until `key` expires, or null when there is none. */
  ttl(key: string): Promise<number | null>;
  /** What the application does when it saves its session: the whole value, its own TTL. */
  writeAsApplication(key: string, value: string, ttlSeconds: number): Promise<void>;
  cleanup(): Promise<void>;
}

export function projectionStoreContract(name: string, factory: () => Promise<ProjectionStoreFixture>): void {
  describe(`ProjectionStore contract: ${name}`, () => {
    let fixture: ProjectionStoreFixture;
    let store: ProjectionStore;
    let t0: number;
    let n = 0;

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
      t0 = nowSeconds(fixture.clock);
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    function projection(overrides: Partial<ProjectionWrite> = {}): ProjectionWrite {
      n += 1;
      return { key: `${fixture.keyPrefix}${'0'.repeat(31)}${n}-key`, format: 'php_serialize', fields: { user_id: 'u1', roles: ['editor'] }, unset: [], expiresAt: t0 + 1800, ...overrides };
    }

    it('creates the key with our variables, expiring at expiresAt', async () => {
      const p = projection();
      expect(await store.write(p)).toBe('written');
      expect(await fixture.raw(p.key)).toBe('a:2:{s:7:"user_id";s:2:"u1";s:5:"roles";a:1:{i:0;s:6:"editor";}}');
      expect(await fixture.ttl(p.key)).toBeGreaterThanOrEqual(1799);
      expect(await fixture.ttl(p.key)).toBeLessThanOrEqual(1800);
    });

    it('writes every format', async () => {
      const php = projection({ format: 'php' });
      const json = projection({ format: 'json' });
      await store.write(php);
      await store.write(json);
      expect(await fixture.raw(php.key)).toBe('user_id|s:2:"u1";roles|a:1:{i:0;s:6:"editor";}');
      expect(JSON.parse((await fixture.raw(json.key))!)).toEqual({ user_id: 'u1', roles: ['editor'] });
    });

    it("merges into the application's session: its variables stay, ours replace theirs, owned names without a value go", async () => {
      const p = projection({ format: 'php', unset: ['name'] });
      await fixture.writeAsApplication(p.key, 'cart|a:1:{i:0;s:4:"book";}user_id|s:5:"other";name|s:3:"Old";', 60);
      expect(await store.write(p)).toBe('written');
      expect(await fixture.raw(p.key)).toBe('cart|a:1:{i:0;s:4:"book";}user_id|s:2:"u1";roles|a:1:{i:0;s:6:"editor";}');
      expect(await fixture.ttl(p.key)).toBeGreaterThan(1790);
    });

    it("keeps an application variable named __proto__ when it merges, in every format", async () => {
      const php = projection({ format: 'php' });
      await fixture.writeAsApplication(php.key, '__proto__|s:1:"x";cart|i:1;', 60);
      expect(await store.write(php)).toBe('written');
      expect(await fixture.raw(php.key)).toBe('__proto__|s:1:"x";cart|i:1;user_id|s:2:"u1";roles|a:1:{i:0;s:6:"editor";}');
      const serialized = projection();
      await fixture.writeAsApplication(serialized.key, 'a:2:{s:9:"__proto__";a:1:{s:1:"k";s:1:"v";}s:4:"cart";i:1;}', 60);
      expect(await store.write(serialized)).toBe('written');
      expect(await fixture.raw(serialized.key)).toBe('a:4:{s:9:"__proto__";a:1:{s:1:"k";s:1:"v";}s:4:"cart";i:1;s:7:"user_id";s:2:"u1";s:5:"roles";a:1:{i:0;s:6:"editor";}}');
      const json = projection({ format: 'json' });
      await fixture.writeAsApplication(json.key, '{"__proto__":{"k":"v"},"cart":1}', 60);
      expect(await store.write(json)).toBe('written');
      expect(await fixture.raw(json.key)).toBe('{"__proto__":{"k":"v"},"cart":1,"user_id":"u1","roles":["editor"]}');
    });

    it('leaves the bytes alone when they already hold our values, and only moves the expiry', async () => {
      const p = projection();
      const stored = 'a:3:{s:5:"price";d:2;s:7:"user_id";s:2:"u1";s:5:"roles";a:1:{i:0;s:6:"editor";}}';
      await fixture.writeAsApplication(p.key, stored, 60);
      expect(await store.write(p)).toBe('current');
      expect(await fixture.raw(p.key)).toBe(stored);
      expect(await fixture.ttl(p.key)).toBeGreaterThan(1790);
      expect(await store.refresh({ ...p, expiresAt: t0 + 600 })).toBe('current');
      expect(await fixture.ttl(p.key)).toBeLessThanOrEqual(600);
    });

    it('never rewrites what it cannot read, and still moves the expiry', async () => {
      const p = projection();
      const stored = 'a:1:{s:4:"cart";O:4:"Cart":1:{s:5:"items";a:0:{}}}';
      await fixture.writeAsApplication(p.key, stored, 60);
      expect(await store.refresh(p)).toBe('unreadable');
      expect(await fixture.raw(p.key)).toBe(stored);
      expect(await fixture.ttl(p.key)).toBeGreaterThan(1790);
    });

    it('refresh brings nothing back: a missing key stays missing', async () => {
      const p = projection();
      expect(await store.refresh(p)).toBe('absent');
      expect(await fixture.raw(p.key)).toBeNull();
      await store.write(p);
      await store.delete([p.key]);
      expect(await store.refresh(p)).toBe('absent');
      expect(await fixture.raw(p.key)).toBeNull();
    });

    it('refresh merges our current values into what the application wrote since', async () => {
      const p = projection();
      await store.write(p);
      await fixture.writeAsApplication(p.key, 'a:3:{s:7:"user_id";s:2:"u1";s:5:"roles";a:1:{i:0;s:6:"editor";}s:4:"cart";a:1:{i:0;i:7;}}', 600);
      fixture.clock.advance(120_000);
      expect(await store.refresh({ ...p, fields: { user_id: 'u1', roles: ['admin'] }, expiresAt: t0 + 1920 })).toBe('written');
      expect(await fixture.raw(p.key)).toBe('a:3:{s:7:"user_id";s:2:"u1";s:5:"roles";a:1:{i:0;s:5:"admin";}s:4:"cart";a:1:{i:0;i:7;}}');
      expect(await fixture.ttl(p.key)).toBeGreaterThan(1790);
    });

    it('deletes keys, ignoring missing ones', async () => {
      const a = projection();
      const b = projection();
      await store.write(a);
      await store.write(b);
      await store.delete([a.key, `${fixture.keyPrefix}missing`]);
      expect(await fixture.raw(a.key)).toBeNull();
      expect(await fixture.raw(b.key)).not.toBeNull();
      await store.delete([]);
    });

    it('deletes a key the application wrote back after a delete at the next purge (a PHP request in flight at a revocation)', async () => {
      const p = projection({ format: 'php' });
      await store.write(p);
      await store.delete([p.key]);
      // PHP read the session before the delete and saves it, whole, when its request ends.
      await fixture.writeAsApplication(p.key, 'cart|i:1;user_id|s:2:"u1";', 1440);
      expect(await store.purgeExpired()).toBe(1);
      expect(await fixture.raw(p.key)).toBeNull();
      // Done once: the key the application writes next is its own (a new anonymous session).
      await fixture.writeAsApplication(p.key, 'cart|i:2;', 1440);
      expect(await store.purgeExpired()).toBe(0);
      expect(await fixture.raw(p.key)).toBe('cart|i:2;');
    });

    it('a time not in the future deletes the key', async () => {
      const p = projection();
      await store.write(p);
      expect(await store.write({ ...p, expiresAt: t0 })).toBe('absent');
      expect(await fixture.raw(p.key)).toBeNull();
    });

    it('purges projections whose time has passed even when the application extended their TTL', async () => {
      const ending = projection({ expiresAt: t0 + 60 });
      const refreshed = projection({ expiresAt: t0 + 60 });
      const lasting = projection({ expiresAt: t0 + 1800 });
      for (const p of [ending, refreshed, lasting]) await store.write(p);
      // PHP re-expires its session key to session.gc_maxlifetime on every request.
      await fixture.writeAsApplication(ending.key, (await fixture.raw(ending.key))!, 3600);
      fixture.clock.advance(30_000);
      await store.refresh({ ...refreshed, expiresAt: t0 + 90 });
      fixture.clock.advance(31_000);
      expect(await store.purgeExpired()).toBe(1);
      expect(await fixture.raw(ending.key)).toBeNull();
      expect(await fixture.raw(refreshed.key)).not.toBeNull();
      expect(await fixture.raw(lasting.key)).not.toBeNull();
      expect(await store.purgeExpired()).toBe(0);
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
