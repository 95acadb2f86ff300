/**
 * The jti replay cache in SQLite: table `replay_jtis (jti PRIMARY KEY, expires_at)`. The primary
 * key makes "record unless already recorded" one atomic statement, for any number of
 * connections and processes. Expired rows are purged by `purgeExpired` (the hub's timer and
 * `tessera sessions purge`); until then they only cost space.
 */
import type Database from 'better-sqlite3';
import { nowSeconds, type Clock } from '../../core/clock';
import type { ReplayStore } from '../../ports';
import { guardStore } from '../unavailable';
import { applyMigrations } from './database';

/** Append-only: each entry is one schema version of the "replay" component. */
const migrations: readonly string[] = [
  `CREATE TABLE replay_jtis (
     jti TEXT PRIMARY KEY,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX replay_jtis_expires_at ON replay_jtis (expires_at);`,
];

/**
 * The `replay_jtis` table, shared by {@link SqliteReplayStore} and the session store's
 * `acceptHandoff`, so a jti spent on either path is a replay on the other.
 */
export class JtiTable {
  private readonly insert: Database.Statement<{ jti: string; expiresAt: number; now: number }>;
  private readonly purge: Database.Statement<[number]>;

  constructor(db: Database.Database) {
    applyMigrations(db, 'replay', migrations);
    // A row whose time is up is overwritten rather than kept: the jti is no longer remembered
    // (ports.ts), and the update's WHERE keeps the check-and-set one atomic statement.
    this.insert = db.prepare(`INSERT INTO replay_jtis (jti, expires_at) VALUES (@jti, @expiresAt)
      ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at WHERE replay_jtis.expires_at <= @now`);
    this.purge = db.prepare('DELETE FROM replay_jtis WHERE expires_at <= ?');
  }

  /** True when `jti` was not remembered at `now` and is now, until `expiresAt`. */
  remember(jti: string, expiresAt: number, now: number): boolean {
    return this.insert.run({ jti, expiresAt, now }).changes === 1;
  }

  /** Deletes jtis no longer remembered at `now`; returns how many. */
  purgeExpired(now: number): number {
    return this.purge.run(now).changes;
  }
}

/**
 * `ReplayStore` over SQLite. A jti is remembered while `expiresAt > now` by the injected clock;
 * after that it may be remembered again. The `sid` scope is ignored: jtis are global here, which
 * is stricter than the port asks. Shares the database handle with the other SQLite stores;
 * `close()` closes it.
 *
 * @example
 * const replay = new SqliteReplayStore(openDatabase('data/tessera.db'), { clock: systemClock });
 * if (!(await replay.rememberOnce(claims.jti, claims.exp + tolerance, claims.sid))) reject();
 */
export class SqliteReplayStore implements ReplayStore {
  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly jtis: JtiTable;
  private readonly select1: Database.Statement;

  constructor(db: Database.Database, options: { clock: Clock }) {
    this.db = db;
    this.clock = options.clock;
    this.jtis = new JtiTable(db);
    this.select1 = db.prepare('SELECT 1');
  }

  rememberOnce(jti: string, expiresAt: number, _sid?: string): Promise<boolean> {
    return guardStore('SQLite replay store', 'rememberOnce', () => this.jtis.remember(jti, expiresAt, nowSeconds(this.clock)));
  }

  /** Deletes expired jtis; returns how many. */
  purgeExpired(): Promise<number> {
    return guardStore('SQLite replay store', 'purgeExpired', () => this.jtis.purgeExpired(nowSeconds(this.clock)));
  }

  ping(): Promise<void> {
    return guardStore('SQLite replay store', 'ping', () => {
      this.select1.get();
    });
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
