import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { FrozenClock } from '../../src/core/clock';
import { PostgresAdminTokenStore } from '../../src/stores/postgres/admin-token-store';
import { PostgresAuditLog } from '../../src/stores/postgres/audit-log';
import { createPool } from '../../src/stores/postgres/database';
import { describeAdminTokenStoreContract } from '../contract/admin-token-store.contract';
import { describeAuditLogContract } from '../contract/audit-log.contract';
import { contractStart } from '../contract/sql-subject';
import { databaseUrl, describeWithPostgres } from '../support/services';

describeWithPostgres('PostgreSQL audit log and admin tokens', () => {
  /** Creates and drops the random schemas this file uses, so parallel runs never collide. */
  let admin: Pool;
  const schemas: string[] = [];

  async function freshPool(): Promise<Pool> {
    const schema = `test_admin_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE SCHEMA ${schema}`);
    schemas.push(schema);
    return createPool(databaseUrl, { schema });
  }

  /** What both contracts need from a fresh schema besides the store itself. */
  function subjectParts(pool: Pool, table: string) {
    let ended = false;
    const end = async () => {
      if (!ended) await pool.end();
      ended = true;
    };
    return {
      rows: async () => (await pool.query<Record<string, unknown>>(`SELECT * FROM ${table}`)).rows,
      sever: end,
      dispose: end,
    };
  }

  beforeAll(() => {
    admin = createPool(databaseUrl);
  });

  afterAll(async () => {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  describe('PostgresAuditLog contract', () => {
    describeAuditLogContract(async () => {
      const pool = await freshPool();
      const clock = new FrozenClock(contractStart);
      return { log: await PostgresAuditLog.open(pool, { clock }), clock, ...subjectParts(pool, 'audit_log') };
    });
  });

  describe('PostgresAdminTokenStore contract', () => {
    describeAdminTokenStoreContract(async () => {
      const pool = await freshPool();
      const clock = new FrozenClock(contractStart);
      return { store: await PostgresAdminTokenStore.open(pool, { clock }), clock, ...subjectParts(pool, 'admin_tokens') };
    });
  });

  it('opens twice on one schema (a second hub instance) and migrates once', async () => {
    const pool = await freshPool();
    const clock = new FrozenClock(contractStart);
    const [first] = await Promise.all([PostgresAuditLog.open(pool, { clock }), PostgresAuditLog.open(pool, { clock })]);
    await Promise.all([PostgresAdminTokenStore.open(pool, { clock }), PostgresAdminTokenStore.open(pool, { clock })]);
    const second = await PostgresAuditLog.open(pool, { clock });
    const event = await first.append({ type: 'key.rotated', actor: 'cli', details: { kid: 'k1' } });
    expect((await second.query({}, { limit: 10 })).items).toEqual([event]);
    const recorded = await pool.query('SELECT component, version FROM schema_migrations ORDER BY component');
    expect(recorded.rows).toEqual([
      { component: 'admin_tokens', version: 1 },
      { component: 'audit', version: 1 },
    ]);
    await pool.end();
  });

  it('refuses an UPDATE of the audit log even from hand-written SQL', async () => {
    const pool = await freshPool();
    const audit = await PostgresAuditLog.open(pool, { clock: new FrozenClock(contractStart) });
    const event = await audit.append({ type: 'login.failure', reason: 'ERR_LOGIN_FAILED' });
    await expect(pool.query("UPDATE audit_log SET reason = 'forged'")).rejects.toThrow('append-only');
    expect((await audit.query({}, { limit: 10 })).items).toEqual([event]);
    await pool.end();
  });

  it('fails to open an unreachable server with ERR_STORE_UNAVAILABLE, with the cause', async () => {
    for (const open of [PostgresAuditLog.open, PostgresAdminTokenStore.open]) {
      const pool = createPool('postgres://postgres@127.0.0.1:1/test');
      const err = await open(pool, { clock: new FrozenClock(contractStart) }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', status: 503, cause: expect.objectContaining({ code: 'ECONNREFUSED' }) });
      await pool.end();
    }
  });
});
