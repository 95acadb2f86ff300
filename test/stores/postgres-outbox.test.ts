import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { FrozenClock } from '../../src/core/clock';
import { applyMigrations, createPool } from '../../src/stores/postgres/database';
import { outboxMigrations, PostgresOutbox } from '../../src/stores/postgres/outbox';
import { contractStart, describeOutboxContract, newDelivery } from '../contract/outbox.contract';
import { databaseUrl, describeWithPostgres } from '../support/services';


describeWithPostgres('PostgreSQL outbox', () => {
  /** Creates and drops the random schemas this file uses, so parallel runs never collide. */
  let admin: Pool;
  const schemas: string[] = [];
  const t0 = contractStart / 1000;

  async function freshPool(): Promise<Pool> {
    const schema = `test_outbox_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE SCHEMA ${schema}`);
    schemas.push(schema);
    return createPool(databaseUrl, { schema });
  }

  beforeAll(() => {
    admin = createPool(databaseUrl);
  });

  afterAll(async () => {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  describe('PostgresOutbox contract', () => {
    describeOutboxContract(async () => {
      const pool = await freshPool();
      const clock = new FrozenClock(contractStart);
      const outbox = await PostgresOutbox.open(pool, { clock });
      return {
        outbox,
        clock,
        dispose: async () => {
          await outbox.close();
          await pool.end();
        },
      };
    });
  });

  it('leases each delivery once to hub instances with pools of their own', async () => {
    const clock = new FrozenClock(contractStart);
    const first = await freshPool();
    const schema = schemas.at(-1)!;
    const pools = [first, createPool(databaseUrl, { schema }), createPool(databaseUrl, { schema })];
    const instances = await Promise.all(pools.map((pool) => PostgresOutbox.open(pool, { clock })));
    await instances[0]!.enqueue(Array.from({ length: 60 }, (_, i) => newDelivery(i)));
    const batches = await Promise.all(Array.from({ length: 30 }, (_, i) => instances[i % 3]!.claim(t0, 3, `hub-${i % 3}-${i}`, 30)));
    const ids = batches.flat().map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    const rest = await instances[1]!.claim(t0, 60, 'hub-late', 30);
    expect(ids.length + rest.length).toBe(60);
    await Promise.all(pools.map((pool) => pool.end()));
  });

  it('migrates a database of the first outbox schema: rows and the id sequence kept, dropped allowed', async () => {
    const pool = await freshPool();
    // The schema as the first release created it (version 1).
    await applyMigrations(pool, 'outbox', outboxMigrations.slice(0, 1));
    await pool.query(
      `INSERT INTO logout_outbox (site, uri, sid, sub, reason, status, attempts, created_at, next_attempt_at, last_error, failed_at)
       VALUES ('https://a.example', 'https://a.example/bcl', 'sid-1', 'user-1', 'admin', 'failed', 8, $1, $1, 'HTTP 503', $2),
              ('https://b.example', 'https://b.example/bcl', 'sid-2', NULL, 'logout', 'pending', 0, $1, $1, NULL, NULL)`,
      [t0, t0 + 9],
    );
    const outbox = await PostgresOutbox.open(pool, { clock: new FrozenClock(contractStart) });
    expect((await outbox.list({}, { limit: 10 })).items.map((d) => [d.id, d.sid, d.status, d.attempts, d.failedAt, d.droppedAt])).toEqual([
      ['2', 'sid-2', 'pending', 0, null, null],
      ['1', 'sid-1', 'failed', 8, t0 + 9, null],
    ]);
    const [claimed] = await outbox.claim(t0, 1, 'hub-1', 30);
    expect(await outbox.drop(claimed!.id, 'hub-1', t0, 'site not configured')).toBe(true);
    expect((await outbox.list({ status: 'dropped' }, { limit: 10 })).items.map((d) => d.sid)).toEqual(['sid-2']);
    const { rows } = await pool.query<{ version: number }>("SELECT version FROM schema_migrations WHERE component = 'outbox' ORDER BY version");
    expect(rows.map((r) => r.version)).toEqual([1, 2]);
    await pool.end();
  });

  it('rejects every call with ERR_STORE_UNAVAILABLE once the connection is gone', async () => {
    const pool = await freshPool();
    const outbox = await PostgresOutbox.open(pool, { clock: new FrozenClock(contractStart) });
    await pool.end();
    for (const call of [outbox.ping(), outbox.enqueue([newDelivery(1)]), outbox.claim(t0, 1, 'hub-1', 30), outbox.stats()]) {
      await expect(call).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    }
  });
});
