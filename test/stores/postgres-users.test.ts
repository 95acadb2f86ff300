import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { FrozenClock } from '../../src/core/clock';
import { applyMigrations, createPool } from '../../src/stores/postgres/database';
import { PostgresUserStore, userMigrations } from '../../src/stores/postgres/user-store';
import type { EmailKeyConflict } from '../../src/stores/user-store-shared';
import { contractStart, describeUserStoreContract } from '../contract/user-store.contract';
import { databaseUrl, describeWithPostgres } from '../support/services';
import { codeOf } from '../support/errors';


/** The users schema version of the last release before NFC e-mail keys. */
const beforeNfcKeys = 2;

describeWithPostgres('PostgreSQL users', () => {
  /** Creates and drops the random schemas this file uses, so parallel runs never collide. */
  let admin: Pool;
  const schemas: string[] = [];

  async function freshSchema(): Promise<string> {
    const schema = `test_users_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE SCHEMA ${schema}`);
    schemas.push(schema);
    return schema;
  }

  beforeAll(() => {
    admin = createPool(databaseUrl);
  });

  afterAll(async () => {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  describe('PostgresUserStore contract', () => {
    describeUserStoreContract(async () => {
      const schema = await freshSchema();
      const pool = createPool(`${databaseUrl}?schema=${schema}`);
      const clock = new FrozenClock(contractStart);
      const store = await PostgresUserStore.open(pool, { clock });
      const legacy: Pool[] = [];
      return {
        store,
        clock,
        openWithLegacyRows: async (rows) => {
          const old = createPool(`${databaseUrl}?schema=${await freshSchema()}`);
          legacy.push(old);
          await applyMigrations(old, 'users', userMigrations().slice(0, beforeNfcKeys));
          for (const row of rows) {
            await old.query('INSERT INTO users (id, email, email_normalized, created_at) VALUES ($1, $2, $3, $4)', [row.id, row.email, row.emailNormalized, row.createdAt]);
          }
          const conflicts: EmailKeyConflict[] = [];
          return { store: await PostgresUserStore.open(old, { clock, onEmailKeyConflict: (conflict) => conflicts.push(conflict) }), conflicts };
        },
        dispose: async () => {
          await store.close();
          await pool.end();
          for (const old of legacy) await old.end();
        },
      };
    });
  });

  it('upgrades a database from before password versions, counting from 0 for its users', async () => {
    const pool = createPool(databaseUrl, { schema: await freshSchema() });
    try {
      const clock = new FrozenClock(contractStart);
      const ada = await (await PostgresUserStore.open(pool, { clock })).create({ email: 'ada@example.org', passwordHash: 'hash-1' });
      // Back to schema version 4, as a database written by the release before.
      await pool.query("ALTER TABLE users DROP COLUMN password_version; DELETE FROM schema_migrations WHERE component = 'users' AND version = 5");
      const store = await PostgresUserStore.open(pool, { clock });
      expect(await store.findById(ada.id)).toEqual({ ...ada, passwordVersion: 0 });
      expect((await store.setPasswordHash(ada.id, 'hash-2')).passwordVersion).toBe(1);
      expect((await pool.query("SELECT version FROM schema_migrations WHERE component = 'users' ORDER BY version")).rows).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }, { version: 5 }]);
    } finally {
      await pool.end();
    }
  });

  describe('createPool', () => {
    it('puts every connection on the schema named in the URL or the options', async () => {
      const schema = await freshSchema();
      for (const pool of [createPool(`${databaseUrl}?schema=${schema}`), createPool(databaseUrl, { schema })]) {
        const results = await Promise.all([pool.query('SELECT current_schema() AS s'), pool.query('SELECT current_schema() AS s')]);
        expect(results.map((result) => result.rows[0].s)).toEqual([schema, schema]);
        await pool.end();
      }
    });

    it('refuses a schema name that is not a plain identifier, and other URL schemes', () => {
      let code: unknown;
      for (const url of [`${databaseUrl}?schema=a;drop`, `${databaseUrl}?schema=Upper`, 'mysql://127.0.0.1/test']) {
        try {
          createPool(url);
          code = 'created';
        } catch (err) {
          code = (err as { code?: unknown }).code;
        }
        expect([url, code]).toEqual([url, 'ERR_CONFIG_INVALID']);
      }
    });
  });

  describe('applyMigrations', () => {
    let pool: Pool;

    beforeEach(async () => {
      pool = createPool(databaseUrl, { schema: await freshSchema() });
    });

    afterEach(async () => {
      await pool.end();
    });

    const counting = [
      'CREATE TABLE runs (migration integer NOT NULL)',
      'INSERT INTO runs VALUES (1)',
      'INSERT INTO runs VALUES (2)',
    ];

    it('applies each migration once when five instances start together', async () => {
      await Promise.all(Array.from({ length: 5 }, () => applyMigrations(pool, 'demo', counting)));
      expect((await pool.query('SELECT migration FROM runs ORDER BY migration')).rows).toEqual([{ migration: 1 }, { migration: 2 }]);
      const recorded = await pool.query('SELECT component, version FROM schema_migrations ORDER BY version');
      expect(recorded.rows).toEqual([
        { component: 'demo', version: 1 },
        { component: 'demo', version: 2 },
        { component: 'demo', version: 3 },
      ]);
    });

    it('applies only the new migrations of a later release, per component', async () => {
      await applyMigrations(pool, 'demo', counting.slice(0, 2));
      await applyMigrations(pool, 'other', ['CREATE TABLE other_table (id integer)']);
      await applyMigrations(pool, 'demo', counting);
      expect((await pool.query('SELECT migration FROM runs ORDER BY migration')).rows).toEqual([{ migration: 1 }, { migration: 2 }]);
      expect((await pool.query("SELECT count(*)::int AS n FROM schema_migrations WHERE component = 'other'")).rows[0].n).toBe(1);
    });

    it('rolls back a failing run entirely and keeps the SQL error', async () => {
      await expect(applyMigrations(pool, 'demo', ['CREATE TABLE half (id integer)', 'NOT SQL'])).rejects.toMatchObject({ code: '42601' });
      const left = await pool.query("SELECT to_regclass('half') AS half, to_regclass('schema_migrations') AS migrations");
      expect(left.rows).toEqual([{ half: null, migrations: null }]);
    });

    it('refuses a database newer than the code with ERR_CONFIG_INVALID', async () => {
      await applyMigrations(pool, 'demo', counting);
      expect(await codeOf(applyMigrations(pool, 'demo', counting.slice(0, 1)))).toBe('ERR_CONFIG_INVALID');
    });
  });

  describe('when PostgreSQL is unreachable', () => {
    it('fails to open with ERR_STORE_UNAVAILABLE, with the cause', async () => {
      const pool = createPool('postgres://postgres@127.0.0.1:1/test');
      const err = await PostgresUserStore.open(pool, { clock: new FrozenClock(contractStart) }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', status: 503, cause: expect.objectContaining({ code: 'ECONNREFUSED' }) });
      await pool.end();
    });

    it('rejects every call with ERR_STORE_UNAVAILABLE once the connection is gone', async () => {
      const pool = createPool(databaseUrl, { schema: await freshSchema() });
      const store = await PostgresUserStore.open(pool, { clock: new FrozenClock(contractStart) });
      await pool.end();
      expect(await codeOf(store.ping())).toBe('ERR_STORE_UNAVAILABLE');
      expect(await codeOf(store.findByEmail('a@example.org'))).toBe('ERR_STORE_UNAVAILABLE');
      expect(await codeOf(store.create({ email: 'a@example.org' }))).toBe('ERR_STORE_UNAVAILABLE');
      expect(await codeOf(store.consumeMagicLink('a'.repeat(64), 0))).toBe('ERR_STORE_UNAVAILABLE');
    });
  });
});
