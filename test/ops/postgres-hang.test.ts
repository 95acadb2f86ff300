/**
 * A PostgreSQL that holds a query (a table lock someone left open, a server that stopped
 * answering) costs the hub a bounded wait, as a Redis that stops answering does: the request
 * gets 503 `ERR_STORE_UNAVAILABLE` and no cookie instead of hanging, and SIGTERM still ends the
 * process although its outbox worker was waiting on the database.
 *
 * The hold is real: another connection takes an ACCESS EXCLUSIVE lock on the hub's table, so
 * the hub's queries on it wait in the server.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { createPool } from '../../src/stores/postgres/database';
import { CookieClient, csrfFrom } from '../support/client';
import { startHubProcess, type HubProcess } from '../support/hub-process';
import { databaseUrl, describeWithPostgres } from '../support/services';
import { eventually } from '../metrics/exposition';

jest.setTimeout(90_000);

const HUB = 'https://hub.example.com';
/** Far longer than the hub may take; without a bound the hub outwaits it. */
const patienceMs = 25_000;

function within<T>(promise: Promise<T>, ms: number): Promise<T | 'still waiting'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still waiting'>((resolve) => {
    timer = setTimeout(() => resolve('still waiting'), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describeWithPostgres('a PostgreSQL query that does not come back', () => {
  let dir: string;
  let admin: Pool;
  let schema: string;
  let hub: HubProcess | undefined;
  let locker: PoolClient | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-ops-pg-'));
    schema = `review_ops_${randomBytes(6).toString('hex')}`;
    admin = createPool(databaseUrl);
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = new URL(databaseUrl);
    url.searchParams.set('schema', schema);
    hub = await startHubProcess(
      {
        TESSERA_PUBLIC_URL: HUB,
        TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}`,
        TESSERA_DATABASE: url.toString(),
        TESSERA_KEYS_DIR: join(dir, 'keys'),
        TESSERA_MAIL_DIR: join(dir, 'mail'),
      },
      20_000,
      { cwd: dir },
    );
  });

  /** Takes the lock in a transaction of its own, as a forgotten `psql` session would. */
  async function lock(table: string): Promise<void> {
    locker = await admin.connect();
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${schema}.${table} IN ACCESS EXCLUSIVE MODE`);
  }

  afterEach(async () => {
    await locker?.query('ROLLBACK');
    locker?.release();
    locker = undefined;
  });

  afterAll(async () => {
    await hub?.kill();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a sign-in whose user lookup waits answers 503 ERR_STORE_UNAVAILABLE and sets no session', async () => {
    const client = new CookieClient(hub!.url);
    const page = await client.get('/login');
    expect(page.status).toBe(200);
    await lock('users');
    const answer = await within(
      client.post('/login', { _csrf: csrfFrom(page.body), email: 'someone@example.com', password: 'correct horse battery staple' }, { origin: HUB, 'sec-fetch-site': 'same-origin', accept: 'application/json' }),
      patienceMs,
    );
    expect(answer).not.toBe('still waiting');
    if (answer === 'still waiting') return;
    expect(answer.status).toBe(503);
    expect(answer.body).toContain('ERR_STORE_UNAVAILABLE');
    expect(answer.setCookies.some((c) => c.startsWith('__Host-tessera='))).toBe(false);
  });

  it('SIGTERM ends the process while its outbox worker waits on the database', async () => {
    await lock('logout_outbox');
    // The worker polls every 500 ms: wait until its claim is queued behind the lock.
    await eventually(async () => {
      const { rows } = await admin.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%logout_outbox%' AND pid <> pg_backend_pid()",
      );
      return Number(rows[0]!.n) > 0;
    }, 10_000);
    const exit = await within(hub!.stop(), patienceMs);
    expect(exit).toBe(0);
    hub = undefined;
  });
});
