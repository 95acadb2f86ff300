/**
 * Sessions in process memory. For tests only: sessions vanish on restart and are invisible to
 * other hub instances (the composition root warns when it is configured). It is the reference
 * the contract suite (test/contract/session-store.contract.ts) holds the real adapters to.
 */
import { nowSeconds, type Clock } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import type { AcceptOutcome, Page, PageRequest, SessionFilter, SessionRecord, SessionStore, SiteLink } from '../../ports';
import { decodeCursor, isAfter, matchesFilter, newestFirst, pageLimit, sortLinks, toPage } from '../listing';
import { MemoryReplayStore } from './replay-store';

interface Entry {
  record: SessionRecord;
  sites: Map<string, SiteLink>;
}

/**
 * `SessionStore` over a `Map`. Records are copied in and out, so callers never share state with
 * the store. Like every adapter, `create` and `rotate` ignore `record.sites`: links come only
 * from `linkSite` and `acceptHandoff`, so a rotated session starts with none. `acceptHandoff` records jtis in `replay` (pass the `MemoryReplayStore` the
 * receivers use, so both paths see the same jtis; a private one by default).
 *
 * @example
 * const clock = new FrozenClock(Date.now());
 * const replay = new MemoryReplayStore({ clock });
 * const sessions = new MemorySessionStore({ clock, replay });
 */
export class MemorySessionStore implements SessionStore {
  private readonly clock: Clock;
  private readonly replay: MemoryReplayStore;
  private readonly entries = new Map<string, Entry>();

  constructor(options: { clock: Clock; replay?: MemoryReplayStore }) {
    this.clock = options.clock;
    this.replay = options.replay ?? new MemoryReplayStore({ clock: options.clock });
  }

  async create(record: SessionRecord): Promise<void> {
    if (this.entries.has(record.sid)) throw new TesseraError('ERR_STORE_CONFLICT', 'session id already exists');
    this.entries.set(record.sid, {
      record: structuredClone({ ...record, sites: [] }),
      sites: new Map(),
    });
  }

  async get(sid: string): Promise<SessionRecord | null> {
    const entry = this.live(sid);
    return entry === null ? null : snapshot(entry);
  }

  async touch(sid: string, lastSeenAt: number, idleExpiresAt: number): Promise<boolean> {
    const entry = this.live(sid);
    if (entry === null) return false;
    entry.record.lastSeenAt = lastSeenAt;
    entry.record.idleExpiresAt = idleExpiresAt;
    return true;
  }

  async setData(sid: string, data: Record<string, unknown>): Promise<boolean> {
    const entry = this.live(sid);
    if (entry === null) return false;
    entry.record.data = structuredClone(data);
    return true;
  }

  async rotate(oldSid: string, next: SessionRecord): Promise<boolean> {
    if (this.live(oldSid) === null) return false;
    if (next.sid !== oldSid && this.entries.has(next.sid)) throw new TesseraError('ERR_STORE_CONFLICT', 'session id already exists');
    this.entries.delete(oldSid);
    await this.create(next);
    return true;
  }

  async revoke(sid: string): Promise<SessionRecord | null> {
    const entry = this.live(sid);
    this.entries.delete(sid);
    return entry === null ? null : snapshot(entry);
  }

  async revokeUser(userId: string): Promise<SessionRecord[]> {
    const removed = this.liveOf(userId);
    for (const [sid, entry] of this.entries) {
      if (entry.record.userId === userId) this.entries.delete(sid);
    }
    return removed;
  }

  async listByUser(userId: string): Promise<SessionRecord[]> {
    return this.liveOf(userId);
  }

  async list(filter: SessionFilter, page: PageRequest): Promise<Page<SessionRecord>> {
    const limit = pageLimit(page.limit);
    const after = decodeCursor(page.cursor);
    const matches = this.allLive()
      .filter((record) => matchesFilter(record, filter) && (after === null || isAfter(record, after)))
      .slice(0, limit + 1);
    return toPage(matches, limit);
  }

  async linkSite(sid: string, link: SiteLink): Promise<boolean> {
    const entry = this.live(sid);
    if (entry === null) return false;
    entry.sites.set(link.site, structuredClone(link));
    return true;
  }

  async acceptHandoff(jti: string, jtiExpiresAt: number, sid: string, link: SiteLink): Promise<AcceptOutcome> {
    if (!(await this.replay.rememberOnce(jti, jtiExpiresAt, sid))) return 'replayed';
    return (await this.linkSite(sid, link)) ? 'accepted' : 'unknown-session';
  }

  async purgeExpired(): Promise<number> {
    let removed = 0;
    for (const [sid] of this.entries) {
      if (this.live(sid) === null) {
        this.entries.delete(sid);
        removed += 1;
      }
    }
    return removed + (await this.replay.purgeExpired());
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  private live(sid: string): Entry | null {
    const entry = this.entries.get(sid);
    if (entry === undefined) return null;
    const now = nowSeconds(this.clock);
    return entry.record.idleExpiresAt > now && entry.record.absoluteExpiresAt > now ? entry : null;
  }

  private allLive(): SessionRecord[] {
    const records: SessionRecord[] = [];
    for (const [sid] of this.entries) {
      const entry = this.live(sid);
      if (entry !== null) records.push(snapshot(entry));
    }
    return records.sort(newestFirst);
  }

  private liveOf(userId: string): SessionRecord[] {
    return this.allLive().filter((record) => record.userId === userId);
  }
}

function snapshot(entry: Entry): SessionRecord {
  return structuredClone({ ...entry.record, sites: sortLinks([...entry.sites.values()]) });
}
