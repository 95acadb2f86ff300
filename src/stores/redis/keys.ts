/**
 * Where Tessera keeps its data in Redis. `P` is the configured prefix (default `tessera:`).
 * Times inside values are Unix seconds.
 *
 * | key                          | type       | holds                                               | expires                          |
 * |------------------------------|------------|-----------------------------------------------------|----------------------------------|
 * | `P session:{<sid>}`          | hash       | the session record: `v`, `secretHash`, `userId`,    | at min(idle, absolute) expiry,   |
 * |                              |            | `data` (JSON), `createdAt`, `lastSeenAt`,           | moved by each touch              |
 * |                              |            | `idleExpiresAt`, `absoluteExpiresAt`, `ip`,         |                                  |
 * |                              |            | `userAgent`, `persistent` (`1`/`0`); null fields    |                                  |
 * |                              |            | are absent                                          |                                  |
 * | `P session:{<sid>}:sites`    | hash       | site origin → site link JSON (`linkedAt`, `src`,    | with the session                 |
 * |                              |            | `secretHash`, `projectionKey`)                      |                                  |
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
 *   record, its links and the jtis of tokens bound to it share a slot, so each session operation
 *   (the accept path above all) is one script on one node.
 * - A jti is unique only within its session's tag. That is enough: a token's `sid` and `jti`
 *   are bound together by its signature, so a replay always names the same sid and finds the
 *   same key; `rememberOnce` with the token's `sid` and `acceptHandoff` use that same key, so a
 *   jti spent on either path is a replay on the other. A jti is global only for tokens without
 *   a sid. A global jti key would put the accept path's jti and session in two slots: two round
 *   trips, and no atomic "replay writes nothing".
 * - Index members are `<createdAt, 12 digits>:<sid>`, all with score 0: Redis orders equal
 *   scores by member, so the lexicographic order is listing order (newest first when read in
 *   reverse) and a page cursor is an exact exclusive bound (ZREVRANGEBYLEX), even for sessions
 *   created in the same second. The indexes are not updated atomically with the records (they
 *   live in other slots): entries are written before the record and removed after it, and an
 *   entry whose record is gone, dead or different is pruned when a read walks over it, so an
 *   index never misses a live session.
 * - Redis expires records by itself with PEXPIRE from the injected clock; every read still
 *   judges liveness by the injected clock, as all adapters do (ports.ts).
 */
import { TesseraError } from '../../core/errors';

/** Width of the zero-padded `createdAt` in index members (Unix seconds until year 33658). */
const createdAtDigits = 12;

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

  sites(sid: string): string {
    return `${this.prefix}session:{${sid}}:sites`;
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

/** The index member of a session. */
export function indexMember(createdAt: number, sid: string): string {
  return `${String(createdAt).padStart(createdAtDigits, '0')}:${sid}`;
}

/** The parts of an index member. */
export function parseIndexMember(member: string): { createdAt: number; sid: string } {
  return { createdAt: Number(member.slice(0, createdAtDigits)), sid: member.slice(createdAtDigits + 1) };
}

/** The lowest index member a session created at `createdAt` can have. */
export function createdAtBound(createdAt: number): string {
  return String(createdAt).padStart(createdAtDigits, '0');
}
