/**
 * Where Tessera keeps its data in Redis. `P` is the configured prefix (default `tessera:`).
 * docs/redis-layout.md is the full contract (field by field); in short:
 *
 * | key                          | type       | holds                                               | expires                          |
 * |------------------------------|------------|-----------------------------------------------------|----------------------------------|
 * | `P session:{<sid>}`          | hash       | the session record (layout 2: short field names,    | at min(idle, absolute) expiry,   |
 * |                              |            | binary SHA-256) and one field per site link         | moved by each touch              |
 * | `P session:{<sid>}:jti:<jti>`| string `1` | a spent jti of a token bound to `<sid>`             | at the token's exp + tolerance   |
 * | `P jti:<jti>`                | string `1` | a spent jti of a token bound to no session          | at the token's exp + tolerance   |
 * | `P user:<userId>:sessions`   | sorted set | index of one user's sessions                        | at its newest session's absolute |
 * |                              |            |                                                     | expiry                           |
 * | `P sessions`                 | sorted set | index of all sessions, for admin listing            | never (members pruned)           |
 * | `P projections`              | sorted set | projection key → when it should end (`expiresAt`);  | never (members pruned)           |
 * |                              |            | the projections themselves live under each site's   |                                  |
 * |                              |            | own `keyPrefix` (src/stores/redis/projection-store) |                                  |
 *
 * Why this shape:
 * - Redis Cluster runs a Lua script only on keys of one hash slot. `{<sid>}` is a hash tag: the
 *   record and the jtis of tokens bound to it share a slot, so each session operation (the
 *   accept path above all) is one script on one node.
 * - A session is one key, and a small one: Redis keeps a hash whose values are all at most
 *   `hash-max-listpack-value` (64 bytes by default) as one listpack, a fraction of a hash
 *   table's size (bench/README.md, "redis-memory"). ./session-store.ts keeps every value within
 *   that, splitting the few long ones into pieces.
 * - A jti is unique only within its session's tag. That is enough: a token's `sid` and `jti`
 *   are bound together by its signature, so a replay always names the same sid and finds the
 *   same key; `rememberOnce` with the token's `sid` and `acceptHandoff` use that same key, so a
 *   jti spent on either path is a replay on the other. A jti is global only for tokens without
 *   a sid. A global jti key would put the accept path's jti and session in two slots: two round
 *   trips, and no atomic "replay writes nothing".
 * - Index members are `<createdAt, 6 sortable characters><sid>`, all with score 0: Redis orders
 *   equal scores by member, so the lexicographic order is listing order (newest first when read
 *   in reverse) and a page cursor is an exact exclusive bound (ZREVRANGEBYLEX), even for
 *   sessions created in the same second. The indexes are not updated atomically with the
 *   records (they live in other slots): entries are written before the record and removed after
 *   it, and an entry whose record is gone, dead or different is pruned when a read walks over
 *   it, so an index never misses a live session.
 * - Redis expires records by itself with PEXPIRE from the injected clock; every read still
 *   judges liveness by the injected clock, as all adapters do (ports.ts).
 */
import { TesseraError } from '../../core/errors';

/**
 * The digits of a sortable base 64: base64url's alphabet in ascending byte order, so numbers of
 * one width written with them compare as strings exactly as they compare as numbers.
 */
const sortableDigits = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';
/** Width of `createdAt` in index members: 36 bits of Unix seconds, until the year 4147. */
const createdAtWidth = 6;
const createdAtMax = 64 ** createdAtWidth - 1;

/** Key names for one prefix. */
export class RedisKeys {
  readonly prefix: string;

  /**
   * @param prefix - Namespace of every key. Braces are refused: a `{` in the prefix would become
   * the hash tag of every key and put all data in one Cluster slot.
   */
  constructor(prefix: string) {
    if (/[{}]/.test(prefix)) throw new TesseraError('ERR_CONFIG_INVALID', `Redis key prefix "${prefix}" must not contain "{" or "}"`);
    this.prefix = prefix;
  }

  session(sid: string): string {
    return `${this.prefix}session:{${sid}}`;
  }

  /** The jti of a token bound to `sid` (in the session's slot). */
  sessionJti(sid: string, jti: string): string {
    return `${this.prefix}session:{${sid}}:jti:${jti}`;
  }

  /** The jti of a token bound to no session. */
  jti(jti: string): string {
    return `${this.prefix}jti:${jti}`;
  }

  userSessions(userId: string): string {
    return `${this.prefix}user:${userId}:sessions`;
  }

  allSessions(): string {
    return `${this.prefix}sessions`;
  }

  /** Index of every projection the hub wrote, scored by when it should end. */
  projections(): string {
    return `${this.prefix}projections`;
  }
}

/**
 * The index member of a session: `createdAt` in 6 sortable base-64 digits, then the sid. Six
 * characters instead of twelve decimal digits and a separator keep a member within 28 bytes,
 * Redis's 32-byte allocation (bench/README.md, "redis-memory").
 */
export function indexMember(createdAt: number, sid: string): string {
  return `${createdAtBound(createdAt)}${sid}`;
}

/**
 * The parts of an index member. A member this layout did not write (an older layout's) yields
 * `createdAt` 0 and a sid that names no session, so the walks prune it.
 */
export function parseIndexMember(member: string): { createdAt: number; sid: string } {
  let createdAt = 0;
  for (let i = 0; i < createdAtWidth; i++) {
    const digit = sortableDigits.indexOf(member.charAt(i));
    if (digit < 0) return { createdAt: 0, sid: member };
    createdAt = createdAt * 64 + digit;
  }
  return { createdAt, sid: member.slice(createdAtWidth) };
}

/** The lowest index member a session created at `createdAt` can have (clamped to the width). */
export function createdAtBound(createdAt: number): string {
  let rest = Math.min(createdAtMax, Math.max(0, Math.floor(createdAt)));
  let digits = '';
  for (let i = 0; i < createdAtWidth; i++) {
    digits = sortableDigits.charAt(rest % 64) + digits;
    rest = Math.floor(rest / 64);
  }
  return digits;
}
