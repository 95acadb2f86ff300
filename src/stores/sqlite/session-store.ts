/**
 * Sessions in SQLite (the embedded default). Schema (component "sessions"):
 *
 *   sessions   (sid PK, secret_hash, user_id, data JSON, created_at, last_seen_at,
 *               idle_expires_at, absolute_expires_at, ip, user_agent, persistent)
 *              indexed by (user_id, created_at, sid), (created_at, sid) and both expiries
 *   site_links (sid → sessions ON DELETE CASCADE, site, linked_at, src, secret_hash,
 *               projection_key; PK (sid, site)) indexed by site
 *
 * plus `replay_jtis` from ./replay-store.ts. Times are Unix seconds. Revoking deletes the row
 * (its links go with it); expired rows stay until `purgeExpired` but every read treats them as
 * gone, judged by the injected clock. Each method is one statement or one transaction; writing
 * transactions take the write lock up front (IMMEDIATE) so two processes on one file wait for
 * each other (busy_timeout) instead of failing on a lock upgrade.
 */
import type Database from 'better-sqlite3';
import { nowSeconds, type Clock } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import type { AcceptOutcome, Page, PageRequest, SessionFilter, SessionRecord, SessionStore, SiteLink } from '../../ports';
import { decodeCursor, pageLimit, toPage } from '../listing';
import { guardStore } from '../unavailable';
import { applyMigrations } from './database';
import { JtiTable } from './replay-store';

/** Append-only: each entry is one schema version of the "sessions" component. */
const migrations: readonly string[] = [
  `CREATE TABLE sessions (
     sid TEXT PRIMARY KEY,
     secret_hash TEXT NOT NULL,
     user_id TEXT,
     data TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL,
     idle_expires_at INTEGER NOT NULL,
     absolute_expires_at INTEGER NOT NULL,
     ip TEXT,
     user_agent TEXT,
     persistent INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX sessions_user ON sessions (user_id, created_at, sid);
   CREATE INDEX sessions_created ON sessions (created_at, sid);
   CREATE INDEX sessions_idle_expires_at ON sessions (idle_expires_at);
   CREATE INDEX sessions_absolute_expires_at ON sessions (absolute_expires_at);
   CREATE TABLE site_links (
     sid TEXT NOT NULL REFERENCES sessions (sid) ON DELETE CASCADE,
     site TEXT NOT NULL,
     linked_at INTEGER NOT NULL,
     src TEXT NOT NULL,
     secret_hash TEXT,
     projection_key TEXT,
     PRIMARY KEY (sid, site)
   ) WITHOUT ROWID;
   CREATE INDEX site_links_site ON site_links (site, sid);`,
];

interface SessionRow {
  sid: string;
  secret_hash: string;
  user_id: string | null;
  data: string;
  created_at: number;
  last_seen_at: number;
  idle_expires_at: number;
  absolute_expires_at: number;
  ip: string | null;
  user_agent: string | null;
  persistent: number;
}

interface LinkRow {
  site: string;
  linked_at: number;
  src: string;
  secret_hash: string | null;
  projection_key: string | null;
}

/** Named parameters of the listing query; null means "no such filter". */
interface ListParams {
  now: number;
  userId: string | null;
  site: string | null;
  ip: string | null;
  createdFrom: number | null;
  createdTo: number | null;
  lastSeenFrom: number | null;
  lastSeenTo: number | null;
  afterCreatedAt: number | null;
  afterSid: string | null;
  limit: number;
}

const live = 'idle_expires_at > @now AND absolute_expires_at > @now';
const newestFirst = 'ORDER BY created_at DESC, sid DESC';

/**
 * `SessionStore` over SQLite. Shares the database handle with the other SQLite stores (open it
 * with `openDatabase`); `close()` closes it. `acceptHandoff` records jtis in the same
 * `replay_jtis` table as `SqliteReplayStore`, so both paths see the same jtis.
 *
 * @example
 * const db = openDatabase('data/tessera.db');
 * const sessions = new SqliteSessionStore(db, { clock: systemClock });
 * const record = await sessions.get(sid);
 */
export class SqliteSessionStore implements SessionStore {
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly jtis: JtiTable;
  private readonly statements;
  private readonly transactions;

  constructor(db: Database.Database, options: { clock: Clock }) {
    this.db = db;
    this.clock = options.clock;
    this.jtis = new JtiTable(db);
    applyMigrations(db, 'sessions', migrations);

    const statements = {
      insert: db.prepare<Record<string, unknown>>(`INSERT INTO sessions
          (sid, secret_hash, user_id, data, created_at, last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, persistent)
        VALUES (@sid, @secretHash, @userId, @data, @createdAt, @lastSeenAt, @idleExpiresAt, @absoluteExpiresAt, @ip, @userAgent, @persistent)
        ON CONFLICT (sid) DO NOTHING`),
      selectLive: db.prepare<{ sid: string; now: number }, SessionRow>(`SELECT * FROM sessions WHERE sid = @sid AND ${live}`),
      selectLinks: db.prepare<[string], LinkRow>('SELECT site, linked_at, src, secret_hash, projection_key FROM site_links WHERE sid = ? ORDER BY site'),
      touch: db.prepare<{ sid: string; now: number; lastSeenAt: number; idleExpiresAt: number }>(
        `UPDATE sessions SET last_seen_at = @lastSeenAt, idle_expires_at = @idleExpiresAt WHERE sid = @sid AND ${live}`,
      ),
      setData: db.prepare<{ sid: string; now: number; data: string }>(`UPDATE sessions SET data = @data WHERE sid = @sid AND ${live}`),
      delete: db.prepare<[string]>('DELETE FROM sessions WHERE sid = ?'),
      selectLiveOfUser: db.prepare<{ userId: string; now: number }, SessionRow>(`SELECT * FROM sessions WHERE user_id = @userId AND ${live} ${newestFirst}`),
      deleteOfUser: db.prepare<[string]>('DELETE FROM sessions WHERE user_id = ?'),
      upsertLink: db.prepare<Record<string, unknown>>(`INSERT INTO site_links (sid, site, linked_at, src, secret_hash, projection_key)
        VALUES (@sid, @site, @linkedAt, @src, @secretHash, @projectionKey)
        ON CONFLICT (sid, site) DO UPDATE SET linked_at = excluded.linked_at, src = excluded.src,
          secret_hash = excluded.secret_hash, projection_key = excluded.projection_key`),
      // One static statement for every combination of filters keeps it prepared once; admin
      // listing is not a hot path, and the (created_at, sid) index still serves the order.
      list: db.prepare<ListParams, SessionRow>(`SELECT * FROM sessions s WHERE ${live}
          AND (@userId IS NULL OR user_id = @userId)
          AND (@site IS NULL OR EXISTS (SELECT 1 FROM site_links l WHERE l.sid = s.sid AND l.site = @site))
          AND (@ip IS NULL OR ip = @ip)
          AND (@createdFrom IS NULL OR created_at >= @createdFrom)
          AND (@createdTo IS NULL OR created_at <= @createdTo)
          AND (@lastSeenFrom IS NULL OR last_seen_at >= @lastSeenFrom)
          AND (@lastSeenTo IS NULL OR last_seen_at <= @lastSeenTo)
          AND (@afterCreatedAt IS NULL OR created_at < @afterCreatedAt OR (created_at = @afterCreatedAt AND sid < @afterSid))
        ${newestFirst} LIMIT @limit`),
      purge: db.prepare<{ now: number }>('DELETE FROM sessions WHERE idle_expires_at <= @now OR absolute_expires_at <= @now'),
      select1: db.prepare('SELECT 1'),
    };
    this.statements = statements;

    const insert = (record: SessionRecord): void => {
      if (statements.insert.run(toRow(record)).changes === 0) throw new TesseraError('ERR_STORE_CONFLICT', 'session id already exists');
    };
    const readLive = (sid: string, now: number): SessionRecord | null => {
      const row = statements.selectLive.get({ sid, now });
      return row === undefined ? null : this.withLinks(row);
    };
    const link = (sid: string, site: SiteLink, now: number): boolean => {
      if (statements.selectLive.get({ sid, now }) === undefined) return false;
      statements.upsertLink.run({ sid, ...site });
      return true;
    };
    this.transactions = {
      insert,
      read: db.transaction(readLive),
      rotate: db.transaction((oldSid: string, next: SessionRecord, now: number): boolean => {
        if (statements.selectLive.get({ sid: oldSid, now }) === undefined) return false;
        statements.delete.run(oldSid);
        insert(next);
        return true;
      }),
      revoke: db.transaction((sid: string, now: number): SessionRecord | null => {
        const record = readLive(sid, now);
        statements.delete.run(sid);
        return record;
      }),
      revokeUser: db.transaction((userId: string, now: number): SessionRecord[] => {
        const records = statements.selectLiveOfUser.all({ userId, now }).map((row) => this.withLinks(row));
        statements.deleteOfUser.run(userId);
        return records;
      }),
      listByUser: db.transaction((userId: string, now: number) => statements.selectLiveOfUser.all({ userId, now }).map((row) => this.withLinks(row))),
      list: db.transaction((params: ListParams) => statements.list.all(params).map((row) => this.withLinks(row))),
      link: db.transaction(link),
      // The receiver's hot path: the jti insert is the atomic check, and the whole transaction
      // commits or rolls back as one, so a replayed token writes nothing.
      accept: db.transaction((jti: string, jtiExpiresAt: number, sid: string, site: SiteLink, now: number): AcceptOutcome => {
        if (!this.jtis.remember(jti, jtiExpiresAt, now)) return 'replayed';
        return link(sid, site, now) ? 'accepted' : 'unknown-session';
      }),
      purge: db.transaction((now: number) => statements.purge.run({ now }).changes + this.jtis.purgeExpired(now)),
    };
  }

  create(record: SessionRecord): Promise<void> {
    return this.guard('create', () => this.transactions.insert(record));
  }

  get(sid: string): Promise<SessionRecord | null> {
    return this.guard('get', (now) => this.transactions.read(sid, now));
  }

  touch(sid: string, lastSeenAt: number, idleExpiresAt: number): Promise<boolean> {
    return this.guard('touch', (now) => this.statements.touch.run({ sid, now, lastSeenAt, idleExpiresAt }).changes === 1);
  }

  setData(sid: string, data: Record<string, unknown>): Promise<boolean> {
    return this.guard('setData', (now) => this.statements.setData.run({ sid, now, data: JSON.stringify(data) }).changes === 1);
  }

  rotate(oldSid: string, next: SessionRecord): Promise<boolean> {
    return this.guard('rotate', (now) => this.transactions.rotate.immediate(oldSid, next, now));
  }

  revoke(sid: string): Promise<SessionRecord | null> {
    return this.guard('revoke', (now) => this.transactions.revoke.immediate(sid, now));
  }

  revokeUser(userId: string): Promise<SessionRecord[]> {
    return this.guard('revokeUser', (now) => this.transactions.revokeUser.immediate(userId, now));
  }

  listByUser(userId: string): Promise<SessionRecord[]> {
    return this.guard('listByUser', (now) => this.transactions.listByUser(userId, now));
  }

  list(filter: SessionFilter, page: PageRequest): Promise<Page<SessionRecord>> {
    return this.guard('list', (now) => {
      const limit = pageLimit(page.limit);
      const after = decodeCursor(page.cursor);
      const matches = this.transactions.list({
        now,
        userId: filter.userId ?? null,
        site: filter.site ?? null,
        ip: filter.ip ?? null,
        createdFrom: filter.createdFrom ?? null,
        createdTo: filter.createdTo ?? null,
        lastSeenFrom: filter.lastSeenFrom ?? null,
        lastSeenTo: filter.lastSeenTo ?? null,
        afterCreatedAt: after?.createdAt ?? null,
        afterSid: after?.sid ?? null,
        limit: limit + 1,
      });
      return toPage(matches, limit);
    });
  }

  linkSite(sid: string, link: SiteLink): Promise<boolean> {
    return this.guard('linkSite', (now) => this.transactions.link.immediate(sid, link, now));
  }

  acceptHandoff(jti: string, jtiExpiresAt: number, sid: string, link: SiteLink): Promise<AcceptOutcome> {
    return this.guard('acceptHandoff', (now) => this.transactions.accept.immediate(jti, jtiExpiresAt, sid, link, now));
  }

  /** Deletes expired sessions (their links go with them) and expired jtis; returns how many rows. */
  purgeExpired(): Promise<number> {
    return this.guard('purgeExpired', (now) => this.transactions.purge.immediate(now));
  }

  ping(): Promise<void> {
    return this.guard('ping', () => {
      this.statements.select1.get();
    });
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private guard<T>(operation: string, run: (now: number) => T): Promise<T> {
    return guardStore('SQLite session store', operation, () => run(nowSeconds(this.clock)));
  }

  private withLinks(row: SessionRow): SessionRecord {
    const sites = this.statements.selectLinks.all(row.sid).map(
      (link): SiteLink => ({ site: link.site, linkedAt: link.linked_at, src: link.src, secretHash: link.secret_hash, projectionKey: link.projection_key }),
    );
    return {
      v: 1,
      sid: row.sid,
      secretHash: row.secret_hash,
      userId: row.user_id,
      data: JSON.parse(row.data) as Record<string, unknown>,
      createdAt: row.created_at,
      lastSeenAt: row.last_seen_at,
      idleExpiresAt: row.idle_expires_at,
      absoluteExpiresAt: row.absolute_expires_at,
      ip: row.ip,
      userAgent: row.user_agent,
      persistent: row.persistent === 1,
      sites,
    };
  }
}

function toRow(record: SessionRecord): Record<string, unknown> {
  return {
    sid: record.sid,
    secretHash: record.secretHash,
    userId: record.userId,
    data: JSON.stringify(record.data),
    createdAt: record.createdAt,
    lastSeenAt: record.lastSeenAt,
    idleExpiresAt: record.idleExpiresAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
    ip: record.ip,
    userAgent: record.userAgent,
    persistent: record.persistent ? 1 : 0,
  };
}
