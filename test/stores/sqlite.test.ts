import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { FrozenClock } from '../../src/core/clock';
import { applyMigrations, openDatabase } from '../../src/stores/sqlite/database';
import { SqliteReplayStore } from '../../src/stores/sqlite/replay-store';
import { SqliteSessionStore } from '../../src/stores/sqlite/session-store';
import { replayStoreContract } from '../contract/replay-store.contract';
import { makeLink, makeSession, sessionStoreContract } from '../contract/session-store.contract';

const start = Date.UTC(2026, 0, 15, 9, 30, 0);
const t0 = start / 1000;

let root: string;
let counter = 0;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-sqlite-'));
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** A database file of its own, in a directory openDatabase has to create. */
function freshFile(): string {
  counter += 1;
  return path.join(root, `case-${counter}`, 'data', 'tessera.db');
}

sessionStoreContract(
  'SQLite',
  async () => {
    const file = freshFile();
    const clock = new FrozenClock(start);
    let db = openDatabase(file);
    return {
      store: new SqliteSessionStore(db, { clock }),
      replay: new SqliteReplayStore(db, { clock }),
      clock,
      reopen: async () => {
        db.close();
        db = openDatabase(file);
        return new SqliteSessionStore(db, { clock });
      },
      cleanup: async () => {
        db.close();
      },
    };
  },
  { persistent: true },
);

replayStoreContract(
  'SQLite',
  async () => {
    const file = freshFile();
    const clock = new FrozenClock(start);
    let db = openDatabase(file);
    return {
      store: new SqliteReplayStore(db, { clock }),
      clock,
      reopen: async () => {
        db.close();
        db = openDatabase(file);
        return new SqliteReplayStore(db, { clock });
      },
      cleanup: async () => {
        db.close();
      },
    };
  },
  { afterExpiry: 'forgotten', persistent: true },
);

describe('openDatabase', () => {
  it('creates the directory and opens the file in WAL mode with foreign keys and a busy timeout', () => {
    const file = freshFile();
    const db = openDatabase(file);
    try {
      expect(fs.existsSync(file)).toBe(true);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });

  it('fails with ERR_STORE_UNAVAILABLE when the file cannot be opened', () => {
    const dir = path.dirname(freshFile());
    fs.mkdirSync(dir, { recursive: true });
    expect(() => openDatabase(dir)).toThrow(expect.objectContaining({ code: 'ERR_STORE_UNAVAILABLE' }));
  });
});

describe('applyMigrations', () => {
  let db: Database.Database;

  beforeEach(() => {
    db = openDatabase(':memory:');
  });

  afterEach(() => {
    db.close();
  });

  const versions = (component: string): number[] =>
    db
      .prepare<[string], { version: number }>('SELECT version FROM schema_migrations WHERE component = ? ORDER BY version')
      .all(component)
      .map((row) => row.version);

  it('applies each migration once, in order, and only the new ones later', () => {
    applyMigrations(db, 'things', ['CREATE TABLE things (id INTEGER PRIMARY KEY)']);
    applyMigrations(db, 'things', ['CREATE TABLE things (id INTEGER PRIMARY KEY)']);
    applyMigrations(db, 'things', ['CREATE TABLE things (id INTEGER PRIMARY KEY)', 'ALTER TABLE things ADD COLUMN name TEXT']);
    expect(versions('things')).toEqual([1, 2]);
    db.prepare('INSERT INTO things (id, name) VALUES (1, ?)').run('x');
  });

  it('keeps components apart', () => {
    applyMigrations(db, 'a', ['CREATE TABLE a1 (x)', 'CREATE TABLE a2 (x)']);
    applyMigrations(db, 'b', ['CREATE TABLE b1 (x)']);
    expect(versions('a')).toEqual([1, 2]);
    expect(versions('b')).toEqual([1]);
  });

  it('rolls a failing migration back whole and fails with ERR_STORE_UNAVAILABLE', () => {
    expect(() => applyMigrations(db, 'broken', ['CREATE TABLE ok (x)', 'CREATE TABLE half (x); INSERT INTO nowhere VALUES (1)'])).toThrow(
      expect.objectContaining({ code: 'ERR_STORE_UNAVAILABLE' }),
    );
    expect(versions('broken')).toEqual([1]);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'").get()).toEqual({ n: 0 });
  });

  it('refuses a database whose schema is newer than the code (ERR_CONFIG_INVALID)', () => {
    applyMigrations(db, 'things', ['CREATE TABLE t1 (x)', 'CREATE TABLE t2 (x)']);
    expect(() => applyMigrations(db, 'things', ['CREATE TABLE t1 (x)'])).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
  });
});

describe('SQLite stores', () => {
  let db: Database.Database;
  let clock: FrozenClock;
  let sessions: SqliteSessionStore;
  let replay: SqliteReplayStore;

  beforeEach(() => {
    db = openDatabase(freshFile());
    clock = new FrozenClock(start);
    sessions = new SqliteSessionStore(db, { clock });
    replay = new SqliteReplayStore(db, { clock });
  });

  afterEach(() => {
    db.close();
  });

  const count = (table: string): number => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

  it('purgeExpired deletes expired rows: sessions, their links and jtis', async () => {
    await sessions.create(makeSession(t0, { sid: 'sid-out', idleExpiresAt: t0 + 10 }));
    await sessions.create(makeSession(t0, { sid: 'sid-live' }));
    await sessions.linkSite('sid-out', makeLink('https://www.example.org', t0));
    await sessions.linkSite('sid-live', makeLink('https://www.example.org', t0));
    await replay.rememberOnce('jti-out', t0 + 10);
    await replay.rememberOnce('jti-live', t0 + 60);
    clock.set((t0 + 10) * 1000);
    expect(await sessions.purgeExpired()).toBe(2); // one session, one jti
    expect(count('sessions')).toBe(1);
    expect(count('site_links')).toBe(1);
    expect(count('replay_jtis')).toBe(1);
  });

  it('SqliteReplayStore.purgeExpired deletes expired jtis only', async () => {
    await replay.rememberOnce('jti-out', t0 + 10);
    await replay.rememberOnce('jti-live', t0 + 60);
    clock.set((t0 + 30) * 1000);
    expect(await replay.purgeExpired()).toBe(1);
    expect(await replay.rememberOnce('jti-live', t0 + 60)).toBe(false);
  });

  it('spends a jti once across two connections to one file', async () => {
    const file = db.name;
    const other = openDatabase(file);
    try {
      const otherSessions = new SqliteSessionStore(other, { clock });
      await sessions.create(makeSession(t0, { sid: 'sid-1' }));
      const outcomes = await Promise.all([
        sessions.acceptHandoff('jti-1', t0 + 60, 'sid-1', makeLink('https://a.example', t0)),
        otherSessions.acceptHandoff('jti-1', t0 + 60, 'sid-1', makeLink('https://b.example', t0)),
      ]);
      expect(outcomes.sort()).toEqual(['accepted', 'replayed']);
      expect((await otherSessions.get('sid-1'))?.sites).toHaveLength(1);
    } finally {
      other.close();
    }
  });

  it('rejects with ERR_STORE_UNAVAILABLE once the database is closed', async () => {
    await sessions.close();
    await expect(sessions.get('sid-1')).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    await expect(sessions.ping()).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    await expect(replay.rememberOnce('jti-1', t0 + 60)).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
  });
});
