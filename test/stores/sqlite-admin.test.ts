import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { FrozenClock } from '../../src/core/clock';
import { SqliteAdminTokenStore } from '../../src/stores/sqlite/admin-token-store';
import { SqliteAuditLog } from '../../src/stores/sqlite/audit-log';
import { openDatabase } from '../../src/stores/sqlite/database';
import { SqliteUserStore } from '../../src/stores/sqlite/user-store';
import { describeAdminTokenStoreContract } from '../contract/admin-token-store.contract';
import { describeAuditLogContract } from '../contract/audit-log.contract';
import { contractStart } from '../contract/sql-subject';

/** What both contracts need from an in-memory database besides the store itself. */
function subjectParts(db: Database.Database, table: string) {
  return {
    rows: async () => db.prepare<[], Record<string, unknown>>(`SELECT * FROM ${table}`).all(),
    sever: async () => {
      db.close();
    },
    dispose: async () => {
      if (db.open) db.close();
    },
  };
}

describe('SqliteAuditLog contract', () => {
  describeAuditLogContract(async () => {
    const db = openDatabase(':memory:');
    const clock = new FrozenClock(contractStart);
    return { log: new SqliteAuditLog(db, { clock }), clock, ...subjectParts(db, 'audit_log') };
  });
});

describe('SqliteAdminTokenStore contract', () => {
  describeAdminTokenStoreContract(async () => {
    const db = openDatabase(':memory:');
    const clock = new FrozenClock(contractStart);
    return { store: new SqliteAdminTokenStore(db, { clock }), clock, ...subjectParts(db, 'admin_tokens') };
  });
});

describe('SQLite audit log and admin tokens', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-admin-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('share the file with the users, keep their rows across restarts and migrate once', async () => {
    const file = path.join(dir, 'tessera.db');
    const clock = new FrozenClock(contractStart);
    const first = openDatabase(file);
    new SqliteUserStore(first, { clock });
    const event = await new SqliteAuditLog(first, { clock }).append({ type: 'user.created', actor: 'cli', userId: 'u1' });
    const { token, record } = await new SqliteAdminTokenStore(first, { clock }).create({ name: 'ci', scopes: ['users:read'], createdBy: 'cli', expiresAt: null });
    first.close();

    const second = openDatabase(file);
    const audit = new SqliteAuditLog(second, { clock });
    const tokens = new SqliteAdminTokenStore(second, { clock });
    expect((await audit.query({}, { limit: 10 })).items).toEqual([event]);
    expect(await tokens.authenticate(token, contractStart / 1000)).toEqual({ ...record, lastUsedAt: contractStart / 1000 });
    expect(second.prepare('SELECT component, version FROM schema_migrations ORDER BY component').all()).toEqual([
      { component: 'admin_tokens', version: 1 },
      { component: 'audit', version: 1 },
      { component: 'users', version: 1 },
      { component: 'users', version: 2 },
      { component: 'users', version: 3 },
      { component: 'users', version: 4 },
      { component: 'users', version: 5 },
    ]);
    second.close();
  });

  it('refuses an UPDATE of the audit log even from hand-written SQL', async () => {
    const db = openDatabase(':memory:');
    const audit = new SqliteAuditLog(db, { clock: new FrozenClock(contractStart) });
    const event = await audit.append({ type: 'login.failure', reason: 'ERR_LOGIN_FAILED' });
    expect(() => db.prepare("UPDATE audit_log SET reason = 'forged'").run()).toThrow('append-only');
    expect((await audit.query({}, { limit: 10 })).items).toEqual([event]);
    db.close();
  });

  it('writes events appended together in call order, visible to a read made before they settle', async () => {
    const db = openDatabase(':memory:');
    const audit = new SqliteAuditLog(db, { clock: new FrozenClock(contractStart) });
    const appending = ['login.success', 'logout', 'session.revoked'].map((type) => audit.append({ type: type as 'logout', actor: 'cli' }));
    // Not awaited yet: a read still sees every append made before it.
    const listed = (await audit.query({}, { limit: 10 })).items;
    const appended = await Promise.all(appending);
    expect(appended.map((event) => event.type)).toEqual(['login.success', 'logout', 'session.revoked']);
    expect(appended.map((event) => event.id)).toEqual([appended[0]!.id, appended[0]!.id + 1, appended[0]!.id + 2]);
    expect(listed).toEqual([...appended].reverse());
    db.close();
  });

  it('fails only the event the database refuses when events are written together', async () => {
    const db = openDatabase(':memory:');
    const audit = new SqliteAuditLog(db, { clock: new FrozenClock(contractStart) });
    db.exec("CREATE TRIGGER refuse_one BEFORE INSERT ON audit_log WHEN NEW.actor = 'refused' BEGIN SELECT RAISE(ABORT, 'refused by test'); END");
    const results = await Promise.allSettled(['cli', 'refused', 'admin'].map((actor) => audit.append({ type: 'logout', actor })));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await audit.query({}, { limit: 10 })).items.map((event) => event.actor)).toEqual(['admin', 'cli']);
    db.close();
  });

  it('reports a closed database as ERR_STORE_UNAVAILABLE with the driver error as cause', async () => {
    const db = openDatabase(':memory:');
    const audit = new SqliteAuditLog(db, { clock: new FrozenClock(contractStart) });
    db.close();
    const err = await audit.ping().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', status: 503, cause: expect.objectContaining({ message: expect.stringContaining('not open') }) });
  });
});
