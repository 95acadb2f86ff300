import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FrozenClock, nowSeconds } from '../../src/core/clock';
import { applyMigrations, openDatabase } from '../../src/stores/sqlite/database';
import { outboxMigrations, SqliteOutbox } from '../../src/stores/sqlite/outbox';
import { contractStart, describeOutboxContract, newDelivery } from '../contract/outbox.contract';

describe('SqliteOutbox contract', () => {
  describeOutboxContract(async () => {
    const db = openDatabase(':memory:');
    const clock = new FrozenClock(contractStart);
    const outbox = new SqliteOutbox(db, { clock });
    return {
      outbox,
      clock,
      dispose: async () => {
        await outbox.close();
        db.close();
      },
    };
  });
});


describe('SqliteOutbox', () => {
  let dir: string;
  let file: string;
  const clock = new FrozenClock(contractStart);
  const t0 = contractStart / 1000;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-outbox-'));
    file = path.join(dir, 'tessera.db');
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps deliveries, their attempts and leases in the file across a restart, and migrates once', async () => {
    const first = openDatabase(file);
    const before = new SqliteOutbox(first, { clock });
    await before.enqueue([newDelivery(1), newDelivery(2)]);
    const [claimed] = await before.claim(t0, 1, 'hub-1', 30);
    await before.fail(claimed!.id, 'hub-1', t0, 'HTTP 503', t0 + 2);
    first.close();

    const second = openDatabase(file);
    const after = new SqliteOutbox(second, { clock });
    expect((await after.list({}, { limit: 10 })).items.map((d) => [d.sid, d.status, d.attempts, d.nextAttemptAt, d.lastError])).toEqual([
      ['sid-2', 'pending', 0, t0, null],
      ['sid-1', 'pending', 1, t0 + 2, 'HTTP 503'],
    ]);
    expect((await after.claim(t0 + 2, 10, 'hub-2', 30)).map((d) => d.sid)).toEqual(['sid-1', 'sid-2']);
    expect(second.prepare("SELECT version FROM schema_migrations WHERE component = 'outbox'").all()).toEqual([{ version: 1 }, { version: 2 }]);
    second.close();
  });

  it('migrates a file of the first outbox schema: rows, statuses and the id sequence kept; dropped allowed', async () => {
    const db = openDatabase(file);
    // The schema as the first release created it (version 1), with a delivered row purged.
    applyMigrations(db, 'outbox', outboxMigrations.slice(0, 1));
    const insert = db.prepare('INSERT INTO logout_outbox (site, uri, sid, sub, reason, status, attempts, created_at, next_attempt_at, last_error, delivered_at, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    insert.run('https://a.example', 'https://a.example/bcl', 'sid-1', 'user-1', 'admin', 'failed', 8, t0, t0, 'HTTP 503', null, t0 + 9);
    insert.run('https://b.example', 'https://b.example/bcl', 'sid-2', null, 'logout', 'pending', 0, t0, t0, null, null, null);
    insert.run('https://c.example', 'https://c.example/bcl', 'sid-3', null, 'logout', 'delivered', 1, t0, t0, null, t0, null);
    db.prepare("DELETE FROM logout_outbox WHERE sid = 'sid-3'").run();

    const outbox = new SqliteOutbox(db, { clock });
    expect((await outbox.list({}, { limit: 10 })).items.map((d) => [d.id, d.sid, d.status, d.attempts, d.lastError, d.failedAt, d.droppedAt])).toEqual([
      ['2', 'sid-2', 'pending', 0, null, null, null],
      ['1', 'sid-1', 'failed', 8, 'HTTP 503', t0 + 9, null],
    ]);
    const [claimed] = await outbox.claim(t0, 1, 'hub-1', 30);
    expect(await outbox.drop(claimed!.id, 'hub-1', t0, 'site not configured')).toBe(true);
    await outbox.enqueue([newDelivery(4)]);
    expect((await outbox.list({}, { limit: 1 })).items[0]).toMatchObject({ id: '4', sid: 'sid-4' });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE tbl_name = 'logout_outbox' AND type = 'index' ORDER BY name").all()).toEqual([
      { name: 'logout_outbox_due' },
      { name: 'logout_outbox_site' },
    ]);
    db.close();
  });

  it('never reuses an id after purging, so an old id names nothing', async () => {
    const db = openDatabase(file);
    const outbox = new SqliteOutbox(db, { clock });
    await outbox.enqueue([newDelivery(1)]);
    const [old] = await outbox.claim(t0, 1, 'hub-1', 30);
    await outbox.complete(old!.id, 'hub-1', t0);
    expect(await outbox.purgeDelivered(t0 + 1)).toBe(1);
    await outbox.enqueue([newDelivery(2)]);
    const [fresh] = (await outbox.list({}, { limit: 10 })).items;
    expect(Number(fresh!.id)).toBeGreaterThan(Number(old!.id));
    db.close();
  });

  it('leases each delivery once across two connections to one file (two hub processes)', async () => {
    const a = openDatabase(file);
    const b = openDatabase(file);
    const one = new SqliteOutbox(a, { clock });
    const two = new SqliteOutbox(b, { clock });
    await one.enqueue(Array.from({ length: 30 }, (_, i) => newDelivery(i)));
    const batches = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? one : two).claim(nowSeconds(clock), 4, `hub-${i}`, 30)));
    const ids = batches.flat().map((d) => d.id);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
    a.close();
    b.close();
  });

  it('rejects every call with ERR_STORE_UNAVAILABLE once the database is closed', async () => {
    const db = openDatabase(':memory:');
    const outbox = new SqliteOutbox(db, { clock });
    db.close();
    for (const call of [outbox.ping(), outbox.enqueue([newDelivery(1)]), outbox.claim(t0, 1, 'hub-1', 30), outbox.stats()]) {
      await expect(call).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    }
  });
});
