/**
 * Opens every store the hub needs from the configuration:
 * - `store.url` — sessions, the replay cache and rate limits:
 *   `sqlite:<path>` (embedded default, one SQLite file in WAL mode); `redis://`, `rediss://`,
 *   `redis+sentinel://`, `redis+cluster://` (Redis through ioredis); `memory:` (in-process maps,
 *   for tests only — says so loudly, since a restart or a second instance loses or splits every
 *   session).
 * - `database.url` — users and magic links, the audit log, the logout outbox and admin API
 *   tokens: a `postgres://` URL in
 *   distributed mode; when unset, the SQLite file of `store.url`, or `data/tessera.db` when the
 *   session store is Redis (`:memory:` with the memory store).
 *
 * The Redis and PostgreSQL adapters are loaded when the configuration names them, not when this
 * module is: a hub carries the client library it talks to and no other (see {@link adapter}).
 */
import type BetterSqlite3 from 'better-sqlite3';
import { resolve } from 'node:path';
import type { Config } from '../config/schema';
import type { Clock } from '../core/clock';
import type { Logger } from '../log/logger';
import type { AdminTokenStore, AuditLog, MagicLinkStore, Outbox, ProjectionStore, ReadinessCheck, ReplayStore, SessionStore, UserStore } from '../ports';
import { MemoryReplayStore } from './memory/replay-store';
import { MemorySessionStore } from './memory/session-store';
import type * as PostgresAdminTokenStoreModule from './postgres/admin-token-store';
import type * as PostgresAuditLogModule from './postgres/audit-log';
import type * as PostgresDatabaseModule from './postgres/database';
import type * as PostgresOutboxModule from './postgres/outbox';
import type * as PostgresUserStoreModule from './postgres/user-store';
import type { RateLimitBackend } from './rate-limit/limiters';
import type * as RedisClientModule from './redis/client';
import type * as RedisProjectionStoreModule from './redis/projection-store';
import type * as RedisReplayStoreModule from './redis/replay-store';
import type * as RedisSessionStoreModule from './redis/session-store';
import { SqliteAdminTokenStore } from './sqlite/admin-token-store';
import { SqliteAuditLog } from './sqlite/audit-log';
import { openDatabase } from './sqlite/database';
import { SqliteOutbox } from './sqlite/outbox';
import { SqliteReplayStore } from './sqlite/replay-store';
import { SqliteSessionStore } from './sqlite/session-store';
import { SqliteUserStore } from './sqlite/user-store';
import type { EmailKeyConflict } from './user-store-shared';

export type StoreKind = 'sqlite' | 'redis' | 'memory';

export interface OpenedStores {
  kind: StoreKind;
  sessions: SessionStore;
  replay: ReplayStore;
  users: UserStore & MagicLinkStore;
  outbox: Outbox;
  audit: AuditLog;
  adminTokens: AdminTokenStore;
  rateLimits: RateLimitBackend;
  /** Session projections for sites with `projection`: Redis only (the configuration refuses them elsewhere). */
  projections: ProjectionStore | null;
  /**
   * Every store the readiness check must reach, by role: each is pinged even when two share one
   * database (SQLite), so `/readyz` names every role that is down.
   */
  readiness: ReadinessCheck[];
  close(): Promise<void>;
}

/** Where sessions live when no store URL scheme other than these is given. */
const defaultSqlitePath = 'data/tessera.db';

export function storeKind(url: string): StoreKind {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (url === 'memory:') return 'memory';
  return 'redis';
}

/**
 * The SQLite database this configuration keeps anything in (sessions with `sqlite:`, or users
 * when no `database.url` is set), as configured (a relative path as given); null when nothing is
 * in SQLite (`memory:`, or Redis with PostgreSQL).
 */
function sqlitePath(config: Config): string | null {
  const kind = storeKind(config.store.url);
  if (kind === 'memory') return null;
  if (kind === 'sqlite') return config.store.url.slice('sqlite:'.length) || defaultSqlitePath;
  return config.database.url === null ? defaultSqlitePath : null;
}

/** {@link sqlitePath} as an absolute path (a relative one is taken from the working directory). */
export function sqliteFileOf(config: Config): string | null {
  const path = sqlitePath(config);
  return path === null ? null : resolve(path);
}

/**
 * Where the stores of `config` are, to be logged: a SQLite file by its absolute path (a relative
 * one is taken from the working directory, so a command run elsewhere than the hub names other
 * files), Redis and PostgreSQL by URL without user name, password or query parameters (which
 * can carry passwords too), but `schema`. `userDatabase` holds the users, audit log, outbox and
 * admin tokens.
 *
 * @example
 * storeLocations(config); // { sessionStore: '/srv/tessera/data/tessera.db', userDatabase: '/srv/tessera/data/tessera.db' }
 */
export function storeLocations(config: Config): { sessionStore: string; userDatabase: string } {
  const kind = storeKind(config.store.url);
  const sqliteFile = sqliteFileOf(config);
  const sessionStore = kind === 'sqlite' ? sqliteFile! : kind === 'memory' ? 'memory:' : withoutCredentials(config.store.url);
  const userDatabase = config.database.url !== null ? withoutCredentials(config.database.url) : (sqliteFile ?? 'memory:');
  return { sessionStore, userDatabase };
}

/**
 * `scheme://***@hosts/path?schema=…`: no user information, no query parameter but `schema`.
 * Everything up to the URL's last '@' counts as user information, wherever it is: a password
 * may hold an '@', a '?' or a '#' of its own (the Sentinel and cluster forms accept them), and a
 * mistyped one a '/', which is logged before anything refuses the URL. An '@' in a query
 * parameter hides the host too, which is the safe way to be wrong.
 */
function withoutCredentials(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0];
  if (scheme === undefined) return '[unparsable URL]';
  const at = url.lastIndexOf('@');
  const afterUserInfo = at === -1 ? url.slice(scheme.length) : url.slice(at + 1);
  const [, rest = '', query] = /^([^?#]*)(?:\?([^#]*))?/.exec(afterUserInfo) ?? [];
  const schema = query === undefined ? null : new URLSearchParams(query).get('schema');
  return `${scheme}${at === -1 ? '' : '***@'}${rest}${schema === null ? '' : `?schema=${encodeURIComponent(schema)}`}`;
}

export async function openStores(config: Config, clock: Clock, logger: Logger): Promise<OpenedStores> {
  const kind = storeKind(config.store.url);
  const closers: Array<() => Promise<void>> = [];
  let sqlite: BetterSqlite3.Database | null = null;
  const sqliteAt = (path: string): BetterSqlite3.Database => {
    if (sqlite === null) {
      const db = openDatabase(path);
      sqlite = db;
      closers.push(async () => {
        db.close();
      });
    }
    return sqlite;
  };

  let sessions: SessionStore;
  let replay: ReplayStore;
  let rateLimits: RateLimitBackend;
  let projections: ProjectionStore | null = null;
  if (kind === 'sqlite') {
    const path = sqlitePath(config)!;
    const db = sqliteAt(path);
    sessions = new SqliteSessionStore(db, { clock });
    replay = new SqliteReplayStore(db, { clock });
    rateLimits = { kind: 'sqlite', db };
    logger.info({ store: 'sqlite', path: resolve(path) }, 'session store opened');
  } else if (kind === 'memory') {
    logger.warn({ store: 'memory' }, 'MEMORY STORE IN USE: sessions and the replay cache live in this process only and vanish on restart. For tests only; never run production on it.');
    const memoryReplay = new MemoryReplayStore({ clock });
    sessions = new MemorySessionStore({ clock, replay: memoryReplay });
    replay = memoryReplay;
    rateLimits = { kind: 'memory' };
  } else {
    const { closeRedisClient, createRedisClient, logConnectionState } = adapter<typeof RedisClientModule>('./redis/client');
    const { RedisSessionStore } = adapter<typeof RedisSessionStoreModule>('./redis/session-store');
    const { RedisReplayStore } = adapter<typeof RedisReplayStoreModule>('./redis/replay-store');
    const { RedisProjectionStore } = adapter<typeof RedisProjectionStoreModule>('./redis/projection-store');
    const redis = createRedisClient(config.store.url);
    logConnectionState(redis, logger);
    closers.push(() => closeRedisClient(redis));
    const prefix = config.store.keyPrefix;
    sessions = new RedisSessionStore(redis, { clock, prefix });
    replay = new RedisReplayStore(redis, { clock, prefix });
    rateLimits = { kind: 'redis', client: redis, prefix };
    projections = new RedisProjectionStore(redis, { clock, prefix });
    logger.info({ store: 'redis' }, 'session store opened');
  }

  // The NFC migration of e-mail keys never stops a start: an account it had to leave with its
  // old key (its address is another's in NFC) is named here, by id, for the operator to resolve.
  const onEmailKeyConflict = ({ userId, heldBy }: EmailKeyConflict) =>
    logger.warn({ event: 'users-migration', userId, heldBy }, "account left with its e-mail key from before NFC: in NFC its address is that of heldBy, which every form of it now finds, so it cannot sign in; delete it by id (admin UI or API), not by address: `tessera users … --email` would act on heldBy");
  let users: UserStore & MagicLinkStore;
  let outbox: Outbox;
  let audit: AuditLog;
  let adminTokens: AdminTokenStore;
  try {
    if (config.database.url !== null) {
      const { createPool } = adapter<typeof PostgresDatabaseModule>('./postgres/database');
      const { PostgresUserStore } = adapter<typeof PostgresUserStoreModule>('./postgres/user-store');
      const { PostgresOutbox } = adapter<typeof PostgresOutboxModule>('./postgres/outbox');
      const { PostgresAuditLog } = adapter<typeof PostgresAuditLogModule>('./postgres/audit-log');
      const { PostgresAdminTokenStore } = adapter<typeof PostgresAdminTokenStoreModule>('./postgres/admin-token-store');
      const pool = createPool(config.database.url);
      closers.push(() => pool.end());
      users = await PostgresUserStore.open(pool, { clock, onEmailKeyConflict });
      outbox = await PostgresOutbox.open(pool, { clock });
      audit = await PostgresAuditLog.open(pool, { clock });
      adminTokens = await PostgresAdminTokenStore.open(pool, { clock });
      logger.info({ database: 'postgres' }, 'user database opened');
    } else {
      const db = sqliteAt(sqlitePath(config) ?? ':memory:');
      users = new SqliteUserStore(db, { clock, onEmailKeyConflict });
      outbox = new SqliteOutbox(db, { clock });
      audit = new SqliteAuditLog(db, { clock });
      adminTokens = new SqliteAdminTokenStore(db, { clock });
    }
  } catch (err) {
    // The Redis client opened above keeps reconnecting, and so keeps the process alive: a start
    // that fails here (PostgreSQL down, a migration refused) must not leave a process that hangs.
    for (const close of closers.reverse()) await close();
    throw err;
  }
  const readiness: ReadinessCheck[] = [
    { store: 'sessions', ping: () => sessions.ping() },
    { store: 'replay', ping: () => replay.ping() },
    { store: 'users', ping: () => users.ping() },
    { store: 'outbox', ping: () => outbox.ping() },
  ];

  return {
    kind,
    sessions,
    replay,
    users,
    outbox,
    audit,
    adminTokens,
    rateLimits,
    projections,
    readiness,
    close: async () => {
      // The audit log first: its pending appends must reach the database before that closes.
      await audit.close();
      for (const close of closers.reverse()) await close();
    },
  };
}

/**
 * One adapter module of this directory, required when {@link openStores} picks its backend.
 * ioredis and pg (with its type parsers and protocol buffers) are 1–2.5 MiB of a hub's heap each,
 * and every MiB that stays live lets the old generation grow further under load
 * (bench/README.md "http-hub-memory"): a hub on SQLite never loads ioredis, one without a
 * PostgreSQL URL never loads pg. SQLite and the memory store stay imported above: the users of a
 * hub without PostgreSQL live in SQLite, and better-sqlite3 loads its native part only when a
 * database is opened.
 */
function adapter<Module>(id: string): Module {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading on demand is the point (above)
  return require(id) as Module;
}
