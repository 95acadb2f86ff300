/**
 * Where the site's own sessions live: koa-session keeps each one under the random key its
 * cookie carries (an "external store"), so the cookie holds no data and a session can be ended
 * on the server. Each store also keeps an index sid → session keys: a hub session may be held
 * by several browsers' local sessions over time, and a back-channel logout for that sid must
 * end all of them.
 */
import type { Clock } from '../core/clock';

/** The site-session port: one adapter in memory, one in Redis. Times to live are in milliseconds. */
export interface SiteSessionStore {
  /** The session stored under `key`, or null when missing or expired. */
  get(key: string): Promise<Record<string, unknown> | null>;
  /** Stores (replaces) the session under `key` for `ttlMs`, indexing it under its `tessera.sid`. */
  set(key: string, data: Record<string, unknown>, ttlMs: number): Promise<void>;
  /** Forgets the session under `key` and its index entry. */
  destroy(key: string): Promise<void>;
  /** The keys of the live sessions that hold hub session `sid`. */
  keysForSid(sid: string): Promise<string[]>;
  /** Ends every local session that holds hub session `sid`; returns how many. */
  destroyBySid(sid: string): Promise<number>;
}

/** The hub sid a stored session holds, if any. */
export function sidOf(data: Record<string, unknown>): string | null {
  const tessera = data.tessera;
  if (typeof tessera !== 'object' || tessera === null) return null;
  const { sid } = tessera as { sid?: unknown };
  return typeof sid === 'string' ? sid : null;
}

interface MemoryEntry {
  /** Serialised, so a caller mutating what it got back never changes the stored session. */
  json: string;
  sid: string | null;
  expiresAtMs: number;
}

/**
 * Site sessions in process memory: for a site that runs as one process (and for tests). A
 * restart signs every visitor out of this site (they come back by the next beacon or bounce).
 *
 * @example
 * const store = new MemorySiteSessionStore(systemClock);
 * await store.set(key, { tessera: { sid } }, 3_600_000);
 * await store.destroyBySid(sid); // 1
 */
export class MemorySiteSessionStore implements SiteSessionStore {
  private readonly sessions = new Map<string, MemoryEntry>();
  private readonly keysBySid = new Map<string, Set<string>>();

  constructor(private readonly clock: Clock) {}

  async get(key: string): Promise<Record<string, unknown> | null> {
    const entry = this.live(key);
    return entry === null ? null : (JSON.parse(entry.json) as Record<string, unknown>);
  }

  async set(key: string, data: Record<string, unknown>, ttlMs: number): Promise<void> {
    this.remove(key);
    const sid = sidOf(data);
    this.sessions.set(key, { json: JSON.stringify(data), sid, expiresAtMs: this.clock.now() + ttlMs });
    if (sid !== null) {
      let keys = this.keysBySid.get(sid);
      if (keys === undefined) this.keysBySid.set(sid, (keys = new Set()));
      keys.add(key);
    }
  }

  async destroy(key: string): Promise<void> {
    this.remove(key);
  }

  async keysForSid(sid: string): Promise<string[]> {
    return [...(this.keysBySid.get(sid) ?? [])].filter((key) => this.live(key) !== null);
  }

  async destroyBySid(sid: string): Promise<number> {
    const keys = await this.keysForSid(sid);
    for (const key of keys) this.remove(key);
    this.keysBySid.delete(sid);
    return keys.length;
  }

  /** Forgets expired sessions; returns how many. The SDK calls this on a timer. */
  purgeExpired(): number {
    let removed = 0;
    for (const key of [...this.sessions.keys()]) {
      if (this.live(key) === null) removed += 1;
    }
    return removed;
  }

  /** The entry under `key` while it lives; an expired one is removed on the way. */
  private live(key: string): MemoryEntry | null {
    const entry = this.sessions.get(key);
    if (entry === undefined) return null;
    if (entry.expiresAtMs > this.clock.now()) return entry;
    this.remove(key);
    return null;
  }

  private remove(key: string): void {
    const entry = this.sessions.get(key);
    if (entry === undefined) return;
    this.sessions.delete(key);
    if (entry.sid === null) return;
    const keys = this.keysBySid.get(entry.sid);
    keys?.delete(key);
    if (keys?.size === 0) this.keysBySid.delete(entry.sid);
  }
}

