import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { FrozenClock } from '../../src/core/clock';
import { createPool } from '../../src/stores/postgres/database';
import { PostgresOutbox } from '../../src/stores/postgres/outbox';
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

  it('rejects every call with ERR_STORE_UNAVAILABLE once the connection is gone', async () => {
    const pool = await freshPool();
    const outbox = await PostgresOutbox.open(pool, { clock: new FrozenClock(contractStart) });
    await pool.end();
    for (const call of [outbox.ping(), outbox.enqueue([newDelivery(1)]), outbox.claim(t0, 1, 'hub-1', 30), outbox.stats()]) {
      await expect(call).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    }
  });
});
