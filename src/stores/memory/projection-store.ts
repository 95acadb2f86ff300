/**
 * Session projections in process memory. For tests only: no PHP (or anything else) can read
 * them, which is the whole point of a projection. The hub is wired with one only by tests; the
 * configuration refuses projections without Redis.
 */
import type { Clock } from '../../core/clock';
import { planProjection } from '../../core/projection/plan';
import type { ProjectionOutcome, ProjectionStore, ProjectionWrite } from '../../ports';

interface Entry {
  value: string;
  /** The key's own TTL, which the application may have moved (milliseconds, injected clock). */
  expiresAtMs: number;
}

/**
 * `ProjectionStore` over maps, with the same merge rules as the Redis adapter
 * (src/core/projection/plan.ts). Keys expire by the injected clock. `readRaw`, `storedKeys` and
 * `writeAsApplication` let a test look at the stored text and play the application's part.
 *
 * @example
 * const projections = new MemoryProjectionStore({ clock });
 * await projections.write({ key: 'PHPREDIS_SESSION:abc', format: 'php', fields: { user_id: 'u1' }, unset: [], expiresAt });
 * projections.readRaw('PHPREDIS_SESSION:abc'); // 'user_id|s:2:"u1";'
 */
export class MemoryProjectionStore implements ProjectionStore {
  private readonly clock: Clock;
  private readonly entries = new Map<string, Entry>();
  /** key → `expiresAt` the hub wants (Unix seconds), like the Redis adapter's index. */
  private readonly index = new Map<string, number>();

  constructor(options: { clock: Clock }) {
    this.clock = options.clock;
  }

  async write(projection: ProjectionWrite): Promise<ProjectionOutcome> {
    return this.apply(projection, false);
  }

  async refresh(projection: ProjectionWrite): Promise<ProjectionOutcome> {
    return this.apply(projection, true);
  }

  async delete(keys: readonly string[]): Promise<void> {
    // Indexed as due now, as the Redis adapter does: the next purge deletes a write-back too.
    const now = Math.floor(this.clock.now() / 1000);
    for (const key of keys) {
      this.entries.delete(key);
      this.index.set(key, now);
    }
  }

  async purgeExpired(): Promise<number> {
    const now = Math.floor(this.clock.now() / 1000);
    let removed = 0;
    for (const [key, expiresAt] of this.index) {
      if (expiresAt > now) continue;
      if (this.live(key) !== null) removed += 1;
      this.entries.delete(key);
      this.index.delete(key);
    }
    return removed;
  }

  /** The stored text at `key`, or null when there is none (or it expired). */
  readRaw(key: string): string | null {
    return this.live(key)?.value ?? null;
  }

  /** What the application does when it saves its session: the whole value, with its own TTL. */
  writeAsApplication(key: string, value: string, ttlSeconds: number): void {
    this.entries.set(key, { value, expiresAtMs: this.clock.now() + ttlSeconds * 1000 });
  }

  /** Every key stored now (expired ones left out). */
  storedKeys(): string[] {
    return [...this.entries.keys()].filter((key) => this.live(key) !== null);
  }

  /** Seconds until `key` expires by its TTL, or null when there is no key. */
  ttlSeconds(key: string): number | null {
    const entry = this.live(key);
    return entry === null ? null : Math.round((entry.expiresAtMs - this.clock.now()) / 1000);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  // Read, plan and write in one synchronous turn: nothing can interleave, so no retry is needed.
  private apply(projection: ProjectionWrite, onlyExisting: boolean): ProjectionOutcome {
    const expiresAtMs = projection.expiresAt * 1000;
    const stored = this.live(projection.key);
    if (stored === null && onlyExisting) {
      this.index.delete(projection.key);
      return 'absent';
    }
    if (expiresAtMs <= this.clock.now()) {
      this.entries.delete(projection.key);
      this.index.delete(projection.key);
      return 'absent';
    }
    const plan = planProjection(stored?.value ?? null, projection);
    this.index.set(projection.key, projection.expiresAt);
    this.entries.set(projection.key, { value: plan.outcome === 'written' ? plan.value : stored!.value, expiresAtMs });
    return plan.outcome;
  }

  private live(key: string): Entry | null {
    const entry = this.entries.get(key);
    if (entry === undefined) return null;
    if (entry.expiresAtMs > this.clock.now()) return entry;
    this.entries.delete(key);
    return null;
  }
}
