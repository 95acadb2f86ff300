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

/**
 * The version of the record layout, its `v` field (docs/redis-layout.md). A record of another
 * version (layout 1's, from earlier development builds) reads as absent: its user signs in again.
 */
const layoutVersion = '2';

/**
 * Lua shared by the scripts. Values longer than `piece` bytes are stored in pieces (field,
 * field#1, field#2, …): Redis keeps the hash as a compact listpack only while every value is at
 * most `hash-max-listpack-value` bytes, 64 by default (bench/README.md, "redis-memory").
 */
const sharedLua = `
local piece = 64
-- Whether a session is live at now: its idle and absolute expiry and its createdAt, or nil.
local function live(key, now)
  local t = redis.call('HMGET', key, 'i', 'a', 'c')
  local idle, abs, created = tonumber(t[1]), tonumber(t[2]), tonumber(t[3])
  if idle == nil or abs == nil or created == nil or idle <= now or abs <= now then return nil end
  return idle, abs, created
end
-- Sets a field, in pieces when long; returns the number of pieces.
local function put(key, field, value)
  redis.call('HSET', key, field, string.sub(value, 1, piece))
  local n = 1
  while n * piece < #value do
    redis.call('HSET', key, field .. '#' .. n, string.sub(value, n * piece + 1, (n + 1) * piece))
    n = n + 1
  end
  return n
end
-- Replaces a field's value, deleting the pieces a longer old value leaves behind.
local function replace(key, field, value)
  local n = put(key, field, value)
  while redis.call('HDEL', key, field .. '#' .. n) == 1 do n = n + 1 end
end
-- A field's value with its pieces joined; false when absent.
local function get(key, field)
  local value = redis.call('HGET', key, field)
  local n = 1
  while value do
    local more = redis.call('HGET', key, field .. '#' .. n)
    if not more then break end
    value = value .. more
    n = n + 1
  end
  return value
end
-- Writes the link of site: its time as seconds after the record's createdAt, then the rest.
local function link(key, now, site, linkedAt, rest)
  local idle, abs, created = live(key, now)
  if not idle then return false end
  replace(key, site, (tonumber(linkedAt) - created) .. ' ' .. rest)
  return true
end
`;

/** The Lua scripts, defined on the client as commands (EVALSHA, loaded on first use). */
const scripts = {
  // KEYS: session. ARGV: ttl ms, then field, value, ...
  tesseraSessionCreate: {
    numberOfKeys: 1,
    lua: `${sharedLua}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for k = 2, #ARGV, 2 do put(KEYS[1], ARGV[k], ARGV[k + 1]) end
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
  // KEYS: session. ARGV: now, now ms, lastSeenAt, idleExpiresAt.
  tesseraSessionTouch: {
    numberOfKeys: 1,
    lua: `${sharedLua}
local idle, abs = live(KEYS[1], tonumber(ARGV[1]))
if not idle then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[3], 'i', ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[4]), abs) * 1000 - tonumber(ARGV[2]))
return 1`,
  },
  // KEYS: session. ARGV: now, data JSON.
  tesseraSessionSetData: {
    numberOfKeys: 1,
    lua: `${sharedLua}
if not live(KEYS[1], tonumber(ARGV[1])) then return 0 end
replace(KEYS[1], 'd', ARGV[2])
return 1`,
  },
  // KEYS: session. ARGV: now, site, linkedAt, rest of the link value (see linkRest).
  tesseraSessionLink: {
    numberOfKeys: 1,
    lua: `${sharedLua}
if link(KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]) then return 1 end
return 0`,
  },
  // The receiver's hot path in one round trip. SET NX is the atomic jti check; everything
  // after it runs only for the one caller that set it, so a replay writes nothing.
  // KEYS: jti, session. ARGV: jti ttl ms, now, site, linkedAt, rest of the link value.
  tesseraSessionAccept: {
    numberOfKeys: 2,
    lua: `${sharedLua}
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 'replayed' end
if link(KEYS[2], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]) then return 'accepted' end
return 'unknown-session'`,
  },
  // A record with its links (fields of it). A script rather than HGETALL: ioredis turns an
  // HGETALL reply into an object, and with Buffer values (the hashes are binary) that costs the
  // hub more CPU than this script's plain array (bench/README.md, "redis-memory"). Read-only, and
  // Redis runs a script without flags even when it is out of memory, as it does a plain read.
  // KEYS: session.
  tesseraSessionLoad: {
    numberOfKeys: 1,
    lua: `return redis.call('HGETALL', KEYS[1])`,
  },
  // Deletes a session (its links are fields of it) and returns its fields, or nil when it is
  // missing, when ARGV[2] is '1' and it is not live, or when ARGV[3] is a user id and the
  // session is not that user's. KEYS: session. ARGV: now, require live ('1'/'0'), user id or ''.
  tesseraSessionTake: {
    numberOfKeys: 1,
    lua: `${sharedLua}
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
if ARGV[3] ~= '' and get(KEYS[1], 'u') ~= ARGV[3] then return nil end
if ARGV[2] == '1' and not live(KEYS[1], tonumber(ARGV[1])) then return nil end
local record = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return record`,
  },
} as const;

type ScriptName = keyof typeof scripts;
type Arg = string | number | Buffer;
type Script = (...keysThenArgs: Arg[]) => Promise<unknown>;

/** The clock's time in the two units the scripts need. */
interface Now {
  seconds: number;
  ms: number;
}

/**
 * `SessionStore` over Redis. Share one client with `RedisReplayStore` (one connection for both
 * stores' commands); `close()` of either closes it, once.
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
      const touched = await this.script('tesseraSessionTouch', this.keys.session(sid), now.seconds, now.ms, lastSeenAt, idleExpiresAt);
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
      const linked = await this.script('tesseraSessionLink', this.keys.session(sid), now.seconds, link.site, link.linkedAt, linkRest(link));
      return linked === 1;
    });
  }

  acceptHandoff(jti: string, jtiExpiresAt: number, sid: string, link: SiteLink): Promise<AcceptOutcome> {
    return this.guard('acceptHandoff', async (now) => {
      const outcome = await this.script(
        'tesseraSessionAccept',
        this.keys.sessionJti(sid, jti),
        this.keys.session(sid),
        Math.max(1, Math.floor(jtiExpiresAt * 1000 - now.ms)),
        now.seconds,
        link.site,
        link.linkedAt,
        linkRest(link),
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
            const [idle, abs, userId, longUserId] = await this.redis.hmget(this.keys.session(sid), 'i', 'a', 'u', 'u#1');
            if (idle === null || abs === null) {
              if (createdAt < now.seconds - indexGraceSeconds) await this.redis.zrem(index, member);
              return;
            }
            if (Number(idle) > now.seconds && Number(abs) > now.seconds) return;
            // A user id longer than 64 bytes is in pieces: the whole record has it.
            const user = longUserId === null ? userId : ((await this.load(sid))?.userId ?? null);
            await this.redis.del(this.keys.session(sid));
            await this.unindex({ sid, createdAt, userId: user });
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
  private script(name: ScriptName, ...keysThenArgs: Arg[]): Promise<unknown> {
    return (this.redis as unknown as Record<ScriptName, Script>)[name](...keysThenArgs);
  }

  /** Runs a script's Buffer variant (ioredis defines one per script): for replies with binary hashes. */
  private bufferScript(name: ScriptName, ...keysThenArgs: Arg[]): Promise<unknown> {
    return (this.redis as unknown as Record<string, Script>)[`${name}Buffer`]!(...keysThenArgs);
  }

  private guard<T>(operation: string, run: (now: Now) => Promise<T>): Promise<T> {
    const ms = Math.floor(this.clock.now());
    return guardStore('Redis session store', operation, () => run({ ms, seconds: Math.floor(ms / 1000) }));
  }

  /** The stored record with its links, live or not; null when Redis has none (or one of another layout). */
  private async load(sid: string): Promise<SessionRecord | null> {
    return decodeRecord(sid, (await this.bufferScript('tesseraSessionLoad', this.keys.session(sid))) as Buffer[]);
  }

  /** Writes a new record (without links) that Redis expires with the session. */
  private async store(record: SessionRecord, now: Now): Promise<void> {
    const ttl = Math.floor(Math.min(record.idleExpiresAt, record.absoluteExpiresAt) * 1000 - now.ms);
    const created = await this.script('tesseraSessionCreate', this.keys.session(record.sid), ttl, ...recordFields(record));
    if (created !== 1) throw new TesseraError('ERR_STORE_CONFLICT', 'session id already exists');
  }

  /** Deletes a session atomically and returns what it was, under the conditions given. */
  private async take(sid: string, now: Now, options: { requireLive: boolean; userId?: string }): Promise<SessionRecord | null> {
    const reply = (await this.bufferScript('tesseraSessionTake', this.keys.session(sid), now.seconds, options.requireLive ? '1' : '0', options.userId ?? '')) as Buffer[] | null;
    return reply === null ? null : decodeRecord(sid, reply);
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

/**
 * The record as HSET field/value pairs (docs/redis-layout.md, "The session record"); null
 * fields and a false `persistent` are left out. The Lua `put` splits the long ones.
 */
function recordFields(record: SessionRecord): Arg[] {
  const fields: Arg[] = [
    'v',
    layoutVersion,
    'h',
    binaryHash(record.secretHash),
    'd',
    JSON.stringify(record.data),
    'c',
    record.createdAt,
    's',
    record.lastSeenAt,
    'i',
    record.idleExpiresAt,
    'a',
    record.absoluteExpiresAt,
  ];
  if (record.userId !== null) fields.push('u', record.userId);
  if (record.ip !== null) fields.push('ip', record.ip);
  if (record.userAgent !== null) fields.push('ua', record.userAgent);
  if (record.persistent) fields.push('p', '1');
  return fields;
}

/**
 * A record from its fields (a flat HGETALL reply of bytes), or null when there is none or it
 * has another layout. Fields whose name holds `://` are the site links, keyed by origin. Every
 * session read comes here, so it is written to make few strings: each Buffer-to-string call
 * costs about as much as the rest of a field's handling (bench/README.md, "redis-memory").
 */
function decodeRecord(sid: string, flat: Buffer[]): SessionRecord | null {
  const record = new Map<string, Buffer>();
  const links: [string, Buffer][] = [];
  let pieces: Map<string, Buffer> | undefined;
  for (let k = 0; k + 1 < flat.length; k += 2) {
    const name = fieldName(flat[k]!);
    const value = flat[k + 1]!;
    if (name.includes('#')) (pieces ??= new Map()).set(name, value);
    else if (name.includes('://')) links.push([name, value]);
    else record.set(name, value);
  }
  const version = record.get('v');
  const hash = record.get('h');
  if (hash === undefined || version?.length !== 1 || version[0] !== layoutVersion.charCodeAt(0)) return null;
  /** A field's value with its pieces (`name#1`, `name#2`, …) appended. */
  const whole = (name: string, first: Buffer): Buffer => {
    if (pieces?.has(`${name}#1`) !== true) return first;
    const parts = [first];
    for (let n = 1, next = pieces.get(`${name}#1`); next !== undefined; n += 1, next = pieces.get(`${name}#${n}`)) parts.push(next);
    return Buffer.concat(parts);
  };
  const text = (name: string): string | null => {
    const first = record.get(name);
    return first === undefined ? null : whole(name, first).toString();
  };
  const time = (name: string): number => {
    const value = record.get(name);
    return value === undefined ? Number.NaN : integer(value);
  };
  const createdAt = time('c');
  return {
    v: 1,
    sid,
    secretHash: hash.toString('hex'),
    userId: text('u'),
    data: JSON.parse(text('d') ?? '{}') as Record<string, unknown>,
    createdAt,
    lastSeenAt: time('s'),
    idleExpiresAt: time('i'),
    absoluteExpiresAt: time('a'),
    ip: text('ip'),
    userAgent: text('ua'),
    persistent: record.has('p'),
    sites: sortLinks(links.map(([site, value]) => decodeLink(site, whole(site, value), createdAt))),
  };
}

/** A field name: the record's are one or two ASCII letters, made without a Buffer call. */
function fieldName(bytes: Buffer): string {
  if (bytes.length === 1) return String.fromCharCode(bytes[0]!);
  if (bytes.length === 2) return String.fromCharCode(bytes[0]!, bytes[1]!);
  return bytes.toString();
}

/** A decimal integer from its ASCII digits, `-` first when negative. */
function integer(bytes: Buffer, start = 0, end = bytes.length): number {
  const negative = bytes[start] === 0x2d;
  let value = 0;
  for (let k = negative ? start + 1 : start; k < end; k += 1) value = value * 10 + bytes[k]! - 0x30;
  return negative ? -value : value;
}

/**
 * What follows a link's time in its value: `<src> <projectionKey> <secretHash>`, the key empty
 * when none, the hash 32 raw bytes or nothing. The scripts put the time in front, as seconds
 * after the record's `createdAt`.
 */
function linkRest(link: SiteLink): Buffer {
  const text = Buffer.from(`${escapeToken(link.src)} ${escapeToken(link.projectionKey ?? '')} `);
  return link.secretHash === null ? text : Buffer.concat([text, binaryHash(link.secretHash)]);
}

/** A link from its value, `<linkedAt − createdAt> <src> <projectionKey> <secretHash>`. */
function decodeLink(site: string, value: Buffer, createdAt: number): SiteLink {
  const afterTime = value.indexOf(0x20);
  const afterSrc = value.indexOf(0x20, afterTime + 1);
  const afterKey = value.indexOf(0x20, afterSrc + 1);
  return {
    site,
    linkedAt: createdAt + integer(value, 0, afterTime),
    src: unescapeToken(value.toString('utf8', afterTime + 1, afterSrc)),
    secretHash: afterKey + 1 < value.length ? value.toString('hex', afterKey + 1) : null,
    projectionKey: afterKey > afterSrc + 1 ? unescapeToken(value.toString('utf8', afterSrc + 1, afterKey)) : null,
  };
}

/** SHA-256 as stored: 32 bytes, not 64 hex digits (11 bytes fewer than base64url, 32 than hex). */
function binaryHash(hex: string): Buffer {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new TypeError('a secret hash must be 64 lower-case hex digits');
  return Buffer.from(hex, 'hex');
}

/** A link's text parts are separated by spaces: a space (and `%` itself) in one is percent-encoded. */
function escapeToken(text: string): string {
  return text.replace(/[% ]/g, (c) => (c === '%' ? '%25' : '%20'));
}

function unescapeToken(text: string): string {
  return text.includes('%') ? text.replace(/%2[05]/g, (code) => (code === '%25' ? '%' : ' ')) : text;
}
