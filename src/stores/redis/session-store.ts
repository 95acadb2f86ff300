/**
 * Sessions in Redis (standalone, Sentinel or Cluster): the store hub instances share, and that
 * sites without code read through the hub. The key layout, and why it is shaped so, is in
 * ./keys.ts. Every operation on one session is one Lua script on that session's hash slot;
 * liveness is judged in the script against `now` passed from the injected clock, never against
 * the Redis server's clock.
 */
import { TesseraError } from '../../core/errors';
import type { AcceptOutcome, Page, PageRequest, SessionFilter, SessionRecord, SessionStore, SiteLink } from '../../ports';
import { decodeCursor, matchesFilter, newestFirst, pageLimit, sortLinks, toPage } from '../listing';
import { guardStore } from '../unavailable';
import { closeRedisClient, type RedisClient } from './client';
import { createdAtBound, indexMember, parseIndexMember } from './keys';
import { RedisStore, type RedisStoreOptions } from './store';

/** Index members read per round trip while walking an index. */
const walkBatch = 100;

/**
 * An index entry is written just before its record, so for a moment it names no record. Such an
 * entry is pruned only once its session is older than this, so a walk never removes the entry
 * of a session being created.
 */
const indexGraceSeconds = 60;

/** Lua shared by the scripts: whether a session is live at `now`, and its expiries. */
const liveLua = `
local function live(key, now)
  local t = redis.call('HMGET', key, 'idleExpiresAt', 'absoluteExpiresAt')
  local idle, abs = tonumber(t[1]), tonumber(t[2])
  if idle == nil or abs == nil or idle <= now or abs <= now then return nil end
  return idle, abs
end
local function link(sessionKey, sitesKey, now, nowMs, site, json)
  local idle, abs = live(sessionKey, now)
  if not idle then return false end
  redis.call('HSET', sitesKey, site, json)
  redis.call('PEXPIRE', sitesKey, math.min(idle, abs) * 1000 - nowMs)
  return true
end
`;

/** The Lua scripts, defined on the client as commands (EVALSHA, loaded on first use). */
const scripts = {
  // KEYS: session. ARGV: ttl ms, then field, value, ...
  tesseraSessionCreate: {
    numberOfKeys: 1,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`,
  },
  // KEYS: user index. ARGV: member, ttl ms. The index lives as long as its longest session.
  tesseraSessionIndexUser: {
    numberOfKeys: 1,
    lua: `
redis.call('ZADD', KEYS[1], 0, ARGV[1])
local ttl = math.max(tonumber(ARGV[2]), 1)
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`,
  },
  // KEYS: session, sites. ARGV: now, now ms, lastSeenAt, idleExpiresAt.
  tesseraSessionTouch: {
    numberOfKeys: 2,
    lua: `${liveLua}
local idle, abs = live(KEYS[1], tonumber(ARGV[1]))
if not idle then return 0 end
redis.call('HSET', KEYS[1], 'lastSeenAt', ARGV[3], 'idleExpiresAt', ARGV[4])
local ttl = math.min(tonumber(ARGV[4]), abs) * 1000 - tonumber(ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1`,
  },
  // KEYS: session. ARGV: now, data JSON.
  tesseraSessionSetData: {
    numberOfKeys: 1,
    lua: `${liveLua}
if not live(KEYS[1], tonumber(ARGV[1])) then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[2])
return 1`,
  },
  // KEYS: session, sites. ARGV: now, now ms, site, link JSON.
  tesseraSessionLink: {
    numberOfKeys: 2,
    lua: `${liveLua}
if link(KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]) then return 1 end
return 0`,
  },
  // The receiver's hot path in one round trip. SET NX is the atomic jti check; everything
  // after it runs only for the one caller that set it, so a replay writes nothing.
  // KEYS: jti, session, sites. ARGV: jti ttl ms, now, now ms, site, link JSON.
  tesseraSessionAccept: {
    numberOfKeys: 3,
    lua: `${liveLua}
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 'replayed' end
if link(KEYS[2], KEYS[3], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]) then return 'accepted' end
return 'unknown-session'`,
  },
  // A record and its links in one command: every page, loader.js and session.json read a
  // session, and one script cost less CPU in the hub than two HGETALLs (bench/README.md).
  // Read-only, and Redis runs a script without flags even when it is out of memory, as it does
  // a plain read. KEYS: session, sites.
  tesseraSessionLoad: {
    numberOfKeys: 2,
    lua: `return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}`,
  },
  // Deletes a session with its links and returns both ({record fields, link fields}), or nil
  // when it is missing, when ARGV[2] is '1' and it is not live, or when ARGV[3] is a user id
  // and the session is not that user's.
  // KEYS: session, sites. ARGV: now, require live ('1'/'0'), user id or ''.
  tesseraSessionTake: {
    numberOfKeys: 2,
    lua: `${liveLua}
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'userId') ~= ARGV[3] then return nil end
if ARGV[2] == '1' and not live(KEYS[1], tonumber(ARGV[1])) then return nil end
local record = redis.call('HGETALL', KEYS[1])
local sites = redis.call('HGETALL', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
return {record, sites}`,
  },
} as const;

type ScriptName = keyof typeof scripts;
type Script = (...keysThenArgs: (string | number)[]) => Promise<unknown>;

/** The clock's time in the two units the scripts need. */
interface Now {
  seconds: number;
  ms: number;
}

/**
 * `SessionStore` over Redis. Share one client with `RedisReplayStore` (auto-pipelining batches
 * both stores' commands together); `close()` of either closes it, once.
 *
 * `purgeExpired` deletes sessions that are dead by the injected clock but not yet expired by
 * Redis, and prunes index entries whose session Redis has expired; it returns how many sessions
 * it deleted.
 *
 * @example
 * const redis = createRedisClient(config.store.url);
 * const sessions = new RedisSessionStore(redis, { clock: systemClock, prefix: 'tessera:' });
 * const replay = new RedisReplayStore(redis, { clock: systemClock, prefix: 'tessera:' });
 */
export class RedisSessionStore extends RedisStore implements SessionStore {
  constructor(redis: RedisClient, options: RedisStoreOptions) {
    super(redis, options, scripts);
  }

  create(record: SessionRecord): Promise<void> {
    return this.guard('create', async (now) => {
      // The index entries go first: a session must never be live without them, or revoking all
      // of a user's sessions could miss it.
      await this.index(record, now);
      await this.store(record, now);
    });
  }

  get(sid: string): Promise<SessionRecord | null> {
    return this.guard('get', async (now) => {
      const record = await this.load(sid);
      return record !== null && isLive(record, now) ? record : null;
    });
  }

  touch(sid: string, lastSeenAt: number, idleExpiresAt: number): Promise<boolean> {
    return this.guard('touch', async (now) => {
      const touched = await this.script('tesseraSessionTouch', this.keys.session(sid), this.keys.sites(sid), now.seconds, now.ms, lastSeenAt, idleExpiresAt);
      return touched === 1;
    });
  }

  setData(sid: string, data: Record<string, unknown>): Promise<boolean> {
    return this.guard('setData', async (now) => (await this.script('tesseraSessionSetData', this.keys.session(sid), now.seconds, JSON.stringify(data))) === 1);
  }

  /**
   * The old and the new session live in different slots, so this is not one script: the old
   * session is taken (checked live and deleted) atomically, so of concurrent rotations exactly
   * one proceeds, and only then is the new one stored. A failure in between leaves the user
   * signed out, never with two sessions.
   */
  rotate(oldSid: string, next: SessionRecord): Promise<boolean> {
    return this.guard('rotate', async (now) => {
      const old = await this.take(oldSid, now, { requireLive: true });
      if (old === null) return false;
      await Promise.all([this.unindex(old), this.index(next, now)]);
      await this.store(next, now);
      return true;
    });
  }

  revoke(sid: string): Promise<SessionRecord | null> {
    return this.guard('revoke', async (now) => {
      const record = await this.take(sid, now, { requireLive: false });
      if (record === null) return null;
      await this.unindex(record);
      return isLive(record, now) ? record : null;
    });
  }

  revokeUser(userId: string): Promise<SessionRecord[]> {
    return this.guard('revokeUser', async (now) => {
      const members = await this.redis.zrange(this.keys.userSessions(userId), 0, -1);
      const taken = await Promise.all(members.map((member) => this.take(parseIndexMember(member).sid, now, { requireLive: false, userId })));
      const removed = taken.filter((record): record is SessionRecord => record !== null);
      await Promise.all(removed.map((record) => this.unindex(record)));
      return removed.filter((record) => isLive(record, now)).sort(newestFirst);
    });
  }

  listByUser(userId: string, known?: SessionRecord): Promise<SessionRecord[]> {
    return this.guard('listByUser', async (now) => {
      const records: SessionRecord[] = [];
      for await (const record of this.walk(this.keys.userSessions(userId), '+', '-', now, userId, known ?? null)) records.push(record);
      return records;
    });
  }

  list(filter: SessionFilter, page: PageRequest): Promise<Page<SessionRecord>> {
    return this.guard('list', async (now) => {
      const limit = pageLimit(page.limit);
      const after = decodeCursor(page.cursor);
      const index = filter.userId === undefined ? this.keys.allSessions() : this.keys.userSessions(filter.userId);
      // Lexicographic bounds over index members (see ./keys.ts): the tighter of the cursor and
      // `createdTo` above, `createdFrom` below.
      let max = filter.createdTo === undefined ? '+' : `(${createdAtBound(filter.createdTo + 1)}`;
      if (after !== null) {
        const cursorBound = `(${indexMember(after.createdAt, after.sid)}`;
        if (max === '+' || cursorBound < max) max = cursorBound;
      }
      const min = filter.createdFrom === undefined ? '-' : `[${createdAtBound(filter.createdFrom)}`;
      const matches: SessionRecord[] = [];
      for await (const record of this.walk(index, max, min, now, filter.userId ?? null)) {
        if (!matchesFilter(record, filter)) continue;
        matches.push(record);
        if (matches.length > limit) break;
      }
      return toPage(matches, limit);
    });
  }

  linkSite(sid: string, link: SiteLink): Promise<boolean> {
    return this.guard('linkSite', async (now) => {
      const linked = await this.script('tesseraSessionLink', this.keys.session(sid), this.keys.sites(sid), now.seconds, now.ms, link.site, linkJson(link));
      return linked === 1;
    });
  }

  acceptHandoff(jti: string, jtiExpiresAt: number, sid: string, link: SiteLink): Promise<AcceptOutcome> {
    return this.guard('acceptHandoff', async (now) => {
      const outcome = await this.script(
        'tesseraSessionAccept',
        this.keys.sessionJti(sid, jti),
        this.keys.session(sid),
        this.keys.sites(sid),
        Math.max(1, Math.floor(jtiExpiresAt * 1000 - now.ms)),
        now.seconds,
        now.ms,
        link.site,
        linkJson(link),
      );
      return outcome as AcceptOutcome;
    });
  }

  purgeExpired(): Promise<number> {
    return this.guard('purgeExpired', async (now) => {
      const index = this.keys.allSessions();
      let removed = 0;
      let min = '-';
      for (;;) {
        const members = await this.redis.zrangebylex(index, min, '+', 'LIMIT', 0, walkBatch);
        await Promise.all(
          members.map(async (member) => {
            const { createdAt, sid } = parseIndexMember(member);
            const [idle, abs, userId] = await this.redis.hmget(this.keys.session(sid), 'idleExpiresAt', 'absoluteExpiresAt', 'userId');
            if (idle === null || abs === null) {
              if (createdAt < now.seconds - indexGraceSeconds) await this.redis.zrem(index, member);
              return;
            }
            if (Number(idle) > now.seconds && Number(abs) > now.seconds) return;
            await this.redis.del(this.keys.session(sid), this.keys.sites(sid));
            await this.unindex({ sid, createdAt, userId });
            removed += 1;
          }),
        );
        const last = members[members.length - 1];
        if (last === undefined || members.length < walkBatch) return removed;
        min = `(${last}`;
      }
    });
  }

  ping(): Promise<void> {
    return this.guard('ping', async () => {
      await this.redis.ping();
    });
  }

  close(): Promise<void> {
    return closeRedisClient(this.redis);
  }

  /** Runs one of `scripts` (defined on the client in the constructor). */
  private script(name: ScriptName, ...keysThenArgs: (string | number)[]): Promise<unknown> {
    return (this.redis as unknown as Record<ScriptName, Script>)[name](...keysThenArgs);
  }

  private guard<T>(operation: string, run: (now: Now) => Promise<T>): Promise<T> {
    const ms = Math.floor(this.clock.now());
    return guardStore('Redis session store', operation, () => run({ ms, seconds: Math.floor(ms / 1000) }));
  }

  /** The stored record with its links, live or not; null when Redis has none. */
  private async load(sid: string): Promise<SessionRecord | null> {
    const [fields, links] = (await this.script('tesseraSessionLoad', this.keys.session(sid), this.keys.sites(sid))) as [string[], string[]];
    return decodeRecord(sid, pairs(fields), pairs(links));
  }

  /** Writes a new record (without links) that Redis expires with the session. */
  private async store(record: SessionRecord, now: Now): Promise<void> {
    const ttl = Math.floor(Math.min(record.idleExpiresAt, record.absoluteExpiresAt) * 1000 - now.ms);
    const created = await this.script('tesseraSessionCreate', this.keys.session(record.sid), ttl, ...recordFields(record));
    if (created !== 1) throw new TesseraError('ERR_STORE_CONFLICT', 'session id already exists');
  }

  /** Deletes a session atomically and returns what it was, under the conditions given. */
  private async take(sid: string, now: Now, options: { requireLive: boolean; userId?: string }): Promise<SessionRecord | null> {
    const reply = (await this.script('tesseraSessionTake', this.keys.session(sid), this.keys.sites(sid), now.seconds, options.requireLive ? '1' : '0', options.userId ?? '')) as
      | [string[], string[]]
      | null;
    return reply === null ? null : decodeRecord(sid, pairs(reply[0]), pairs(reply[1]));
  }

  private async index(record: SessionRecord, now: Now): Promise<void> {
    const member = indexMember(record.createdAt, record.sid);
    await Promise.all([
      this.redis.zadd(this.keys.allSessions(), 0, member),
      record.userId === null ? null : this.script('tesseraSessionIndexUser', this.keys.userSessions(record.userId), member, Math.floor(record.absoluteExpiresAt * 1000 - now.ms)),
    ]);
  }

  private async unindex(record: Pick<SessionRecord, 'sid' | 'createdAt' | 'userId'>): Promise<void> {
    const member = indexMember(record.createdAt, record.sid);
    await Promise.all([this.redis.zrem(this.keys.allSessions(), member), record.userId === null ? null : this.redis.zrem(this.keys.userSessions(record.userId), member)]);
  }

  /**
   * The live sessions an index names between `max` and `min` (ZREVRANGEBYLEX bounds), in
   * listing order, a batch per round trip. Entries whose session is dead, belongs to another
   * user (`userId`, for a user index) or was created at another time are pruned on the way;
   * entries naming no record only after the grace period (see `indexGraceSeconds`). `known` is
   * used in place of reading its session (see SessionStore.listByUser).
   */
  private async *walk(index: string, max: string, min: string, now: Now, userId: string | null, known: SessionRecord | null = null): AsyncGenerator<SessionRecord> {
    for (;;) {
      const members = await this.redis.zrevrangebylex(index, max, min, 'LIMIT', 0, walkBatch);
      // `known` (see SessionStore.listByUser) is taken as read; it passes the same checks below.
      const records = await Promise.all(
        members.map((member) => {
          const { sid } = parseIndexMember(member);
          return sid === known?.sid ? known : this.load(sid);
        }),
      );
      const stale: string[] = [];
      for (const [i, member] of members.entries()) {
        const record = records[i] ?? null;
        const { createdAt } = parseIndexMember(member);
        if (record === null) {
          if (createdAt < now.seconds - indexGraceSeconds) stale.push(member);
        } else if (!isLive(record, now) || record.createdAt !== createdAt || (userId !== null && record.userId !== userId)) {
          stale.push(member);
        } else {
          yield record;
        }
      }
      if (stale.length > 0) await this.redis.zrem(index, ...stale);
      const last = members[members.length - 1];
      if (last === undefined || members.length < walkBatch) return;
      max = `(${last}`;
    }
  }
}

function isLive(record: SessionRecord, now: Now): boolean {
  return record.idleExpiresAt > now.seconds && record.absoluteExpiresAt > now.seconds;
}

/** The record as HSET field/value pairs; null fields are left out. */
function recordFields(record: SessionRecord): string[] {
  const fields: Record<string, string> = {
    v: '1',
    secretHash: record.secretHash,
    data: JSON.stringify(record.data),
    createdAt: String(record.createdAt),
    lastSeenAt: String(record.lastSeenAt),
    idleExpiresAt: String(record.idleExpiresAt),
    absoluteExpiresAt: String(record.absoluteExpiresAt),
    persistent: record.persistent ? '1' : '0',
  };
  if (record.userId !== null) fields.userId = record.userId;
  if (record.ip !== null) fields.ip = record.ip;
  if (record.userAgent !== null) fields.userAgent = record.userAgent;
  return Object.entries(fields).flat();
}

function decodeRecord(sid: string, fields: Record<string, string>, links: Record<string, string>): SessionRecord | null {
  if (fields.secretHash === undefined) return null;
  const sites = Object.entries(links).map(([site, json]): SiteLink => {
    const link = JSON.parse(json) as Omit<SiteLink, 'site'>;
    return { site, linkedAt: link.linkedAt, src: link.src, secretHash: link.secretHash, projectionKey: link.projectionKey };
  });
  return {
    v: 1,
    sid,
    secretHash: fields.secretHash,
    userId: fields.userId ?? null,
    data: JSON.parse(fields.data ?? '{}') as Record<string, unknown>,
    createdAt: Number(fields.createdAt),
    lastSeenAt: Number(fields.lastSeenAt),
    idleExpiresAt: Number(fields.idleExpiresAt),
    absoluteExpiresAt: Number(fields.absoluteExpiresAt),
    ip: fields.ip ?? null,
    userAgent: fields.userAgent ?? null,
    persistent: fields.persistent === '1',
    sites: sortLinks(sites),
  };
}

function linkJson(link: SiteLink): string {
  return JSON.stringify({ v: 1, linkedAt: link.linkedAt, src: link.src, secretHash: link.secretHash, projectionKey: link.projectionKey });
}

/** A flat HGETALL reply from a script as an object. */
function pairs(flat: string[]): Record<string, string> {
  const object: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) object[flat[i] as string] = flat[i + 1] as string;
  return object;
}
