import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FrozenClock } from '../../src/core/clock';
import type Database from 'better-sqlite3';
import { applyMigrations, openDatabase } from '../../src/stores/sqlite/database';
import { SqliteUserStore, userMigrations } from '../../src/stores/sqlite/user-store';
import type { EmailKeyConflict } from '../../src/stores/user-store-shared';
import { contractStart, describeUserStoreContract } from '../contract/user-store.contract';
import { codeOf, codeOfSync } from '../support/errors';

/** The users schema version of the last release before NFC e-mail keys. */
const beforeNfcKeys = 2;

describe('SqliteUserStore contract', () => {
  describeUserStoreContract(async () => {
    const db = openDatabase(':memory:');
    const legacy: Database.Database[] = [];
    const clock = new FrozenClock(contractStart);
    const store = new SqliteUserStore(db, { clock });
    return {
      store,
      clock,
      openWithLegacyRows: async (rows) => {
        const old = openDatabase(':memory:');
        legacy.push(old);
        applyMigrations(old, 'users', userMigrations().slice(0, beforeNfcKeys));
        const insert = old.prepare<[string, string, string, number]>('INSERT INTO users (id, email, email_normalized, created_at) VALUES (?, ?, ?, ?)');
        for (const row of rows) insert.run(row.id, row.email, row.emailNormalized, row.createdAt);
        const conflicts: EmailKeyConflict[] = [];
        return { store: new SqliteUserStore(old, { clock, onEmailKeyConflict: (conflict) => conflicts.push(conflict) }), conflicts };
      },
      dispose: async () => {
        await store.close();
        db.close();
        for (const old of legacy) old.close();
      },
    };
  });
});

describe('SqliteUserStore', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-users-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps users in the file across restarts and migrates once', async () => {
    const file = path.join(dir, 'tessera.db');
    const clock = new FrozenClock(contractStart);
    const first = openDatabase(file);
    const ada = await new SqliteUserStore(first, { clock }).create({ email: 'Ada@example.org', roles: ['admin'] });
    first.close();

    const second = openDatabase(file);
    const store = new SqliteUserStore(second, { clock });
    expect(await store.findByEmail('ada@EXAMPLE.org')).toEqual(ada);
    expect(second.prepare("SELECT version FROM schema_migrations WHERE component = 'users'").all()).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }, { version: 5 }]);
    expect(second.prepare('SELECT email, email_normalized FROM users').all()).toEqual([{ email: 'Ada@example.org', email_normalized: 'ada@example.org' }]);
    second.close();
  });

  it('upgrades a file from before two-step sign-in, keeping its users with TOTP off', async () => {
    const file = path.join(dir, 'tessera.db');
    const clock = new FrozenClock(contractStart);
    const first = openDatabase(file);
    const ada = await new SqliteUserStore(first, { clock }).create({ email: 'ada@example.org' });
    // Back to schema version 1, as a file written by the release before.
    first.exec(`ALTER TABLE users DROP COLUMN password_version;
      ALTER TABLE users DROP COLUMN totp_secret; ALTER TABLE users DROP COLUMN totp_enabled_at;
      ALTER TABLE users DROP COLUMN totp_last_step; ALTER TABLE users DROP COLUMN totp_recovery_codes;
      ALTER TABLE users DROP COLUMN email_change_id;
      DELETE FROM schema_migrations WHERE component = 'users' AND version >= 2;`);
    first.close();

    const second = openDatabase(file);
    const store = new SqliteUserStore(second, { clock });
    expect(await store.findById(ada.id)).toEqual({ ...ada, totpEnabledAt: null });
    expect(await store.totpState(ada.id)).toBeNull();
    expect((await store.setTotp(ada.id, { secret: 'JBSWY3DPEHPK3PXP', recoveryCodeHashes: [] })).totpEnabledAt).toBe(contractStart / 1000);
    second.close();
  });

  it('reports the accounts the NFC key migration left behind once it is committed, even when a later version then fails', async () => {
    const file = path.join(dir, 'tessera.db');
    const clock = new FrozenClock(contractStart);
    const first = openDatabase(file);
    applyMigrations(first, 'users', userMigrations().slice(0, beforeNfcKeys));
    const insert = first.prepare<[string, string, string, number]>('INSERT INTO users (id, email, email_normalized, created_at) VALUES (?, ?, ?, ?)');
    insert.run('nfc', 'Am\u00e9lie@example.org', 'am\u00e9lie@example.org', 1);
    insert.run('nfd', 'Ame\u0301lie@example.org', 'ame\u0301lie@example.org', 2);
    // Version 4 will fail (its column is there already): version 3 commits on its own before it.
    first.exec('ALTER TABLE users ADD COLUMN email_change_id TEXT');
    const conflicts: EmailKeyConflict[] = [];
    expect(codeOfSync(() => new SqliteUserStore(first, { clock, onEmailKeyConflict: (conflict) => conflicts.push(conflict) }))).toBe('ERR_STORE_UNAVAILABLE');
    expect(first.prepare("SELECT max(version) AS v FROM schema_migrations WHERE component = 'users'").get()).toEqual({ v: 3 });
    // The next start finds version 3 applied and cannot tell again: this was the one chance.
    expect(conflicts).toEqual([{ userId: 'nfd', heldBy: 'nfc' }]);

    first.exec('ALTER TABLE users DROP COLUMN email_change_id');
    const again: EmailKeyConflict[] = [];
    const store = new SqliteUserStore(first, { clock, onEmailKeyConflict: (conflict) => again.push(conflict) });
    expect(again).toEqual([]);
    expect((await store.findByEmail('ame\u0301lie@example.org'))?.id).toBe('nfc');
    first.close();
  });

  it('upgrades a file from before password versions, counting from 0 for its users', async () => {
    const file = path.join(dir, 'tessera.db');
    const clock = new FrozenClock(contractStart);
    const first = openDatabase(file);
    const ada = await new SqliteUserStore(first, { clock }).create({ email: 'ada@example.org', passwordHash: 'hash-1' });
    // Back to schema version 4, as a file written by the release before.
    first.exec(`ALTER TABLE users DROP COLUMN password_version; DELETE FROM schema_migrations WHERE component = 'users' AND version = 5;`);
    first.close();

    const second = openDatabase(file);
    const store = new SqliteUserStore(second, { clock });
    expect(await store.findById(ada.id)).toEqual({ ...ada, passwordVersion: 0 });
    expect((await store.setPasswordHash(ada.id, 'hash-2')).passwordVersion).toBe(1);
    second.close();
  });

  it('stores magic links by hash only, and deletes them when consumed', async () => {
    const db = openDatabase(':memory:');
    const store = new SqliteUserStore(db, { clock: new FrozenClock(contractStart) });
    await store.createMagicLink({ tokenHash: 'a'.repeat(64), userId: 'u', email: 'a@example.org', expiresAt: 2e9, returnTo: null });
    expect(db.prepare('SELECT token_hash FROM magic_links').all()).toEqual([{ token_hash: 'a'.repeat(64) }]);
    await store.consumeMagicLink('a'.repeat(64), contractStart / 1000);
    expect(db.prepare('SELECT count(*) AS n FROM magic_links').get()).toEqual({ n: 0 });
    db.close();
  });

  it('rejects calls on a closed database with ERR_STORE_UNAVAILABLE, with the cause', async () => {
    const db = openDatabase(':memory:');
    const store = new SqliteUserStore(db, { clock: new FrozenClock(contractStart) });
    db.close();
    const err = await store.ping().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', status: 503, cause: expect.objectContaining({ message: expect.stringContaining('not open') }) });
    expect(await codeOf(store.findById('x'))).toBe('ERR_STORE_UNAVAILABLE');
    expect(await codeOf(store.create({ email: 'a@example.org' }))).toBe('ERR_STORE_UNAVAILABLE');
    expect(await codeOf(store.list({}, { limit: 10 }))).toBe('ERR_STORE_UNAVAILABLE');
    expect(await codeOf(store.setDisabled('x', true))).toBe('ERR_STORE_UNAVAILABLE');
  });
});
