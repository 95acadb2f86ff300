import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FrozenClock } from '../../src/core/clock';
import { openDatabase } from '../../src/stores/sqlite/database';
import { SqliteUserStore } from '../../src/stores/sqlite/user-store';
import { contractStart, describeUserStoreContract } from '../contract/user-store.contract';
import { codeOf } from '../support/errors';


describe('SqliteUserStore contract', () => {
  describeUserStoreContract(async () => {
    const db = openDatabase(':memory:');
    const clock = new FrozenClock(contractStart);
    const store = new SqliteUserStore(db, { clock });
    return {
      store,
      clock,
      dispose: async () => {
        await store.close();
        db.close();
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
    expect(second.prepare("SELECT version FROM schema_migrations WHERE component = 'users'").all()).toEqual([{ version: 1 }, { version: 2 }]);
    expect(second.prepare('SELECT email, email_normalized FROM users').all()).toEqual([{ email: 'Ada@example.org', email_normalized: 'ada@example.org' }]);
    second.close();
  });

  it('upgrades a file from before two-step sign-in, keeping its users with TOTP off', async () => {
    const file = path.join(dir, 'tessera.db');
    const clock = new FrozenClock(contractStart);
    const first = openDatabase(file);
    const ada = await new SqliteUserStore(first, { clock }).create({ email: 'ada@example.org' });
    // Back to schema version 1, as a file written by the release before.
    first.exec(`ALTER TABLE users DROP COLUMN totp_secret; ALTER TABLE users DROP COLUMN totp_enabled_at;
      ALTER TABLE users DROP COLUMN totp_last_step; ALTER TABLE users DROP COLUMN totp_recovery_codes;
      DELETE FROM schema_migrations WHERE component = 'users' AND version = 2;`);
    first.close();

    const second = openDatabase(file);
    const store = new SqliteUserStore(second, { clock });
    expect(await store.findById(ada.id)).toEqual({ ...ada, totpEnabledAt: null });
    expect(await store.totpState(ada.id)).toBeNull();
    expect((await store.setTotp(ada.id, { secret: 'JBSWY3DPEHPK3PXP', recoveryCodeHashes: [] })).totpEnabledAt).toBe(contractStart / 1000);
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
