/**
 * openStores wires the audit log, the logout outbox and admin tokens next to the users: into
 * the SQLite file by default, into PostgreSQL when `database.url` is set — checked by what a
 * second handle on the same database sees.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/load';
import { systemClock } from '../../src/core/clock';
import { createLogger, silentLogger } from '../../src/log/logger';
import { openStores, storeLocations, type OpenedStores } from '../../src/stores/open';
import { createPool } from '../../src/stores/postgres/database';
import { applyMigrations, openDatabase } from '../../src/stores/sqlite/database';
import { userMigrations } from '../../src/stores/sqlite/user-store';
import { databaseUrl, describeWithPostgres } from '../support/services';

const delivery = { site: 'https://www.example.org', uri: 'https://www.example.org/shared-session/backchannel-logout', sid: 'sid-1', sub: null, reason: 'admin' };

async function writeAll(stores: OpenedStores): Promise<void> {
  await stores.outbox.enqueue([delivery]);
  await stores.audit.append({ type: 'session.revoked', actor: 'cli', sid: 'sid-1', reason: 'admin' });
  await stores.adminTokens.create({ name: 'monitoring', scopes: ['sessions:read'], createdBy: 'cli', expiresAt: null });
}

async function expectAll(stores: OpenedStores): Promise<void> {
  expect((await stores.outbox.list({}, { limit: 10 })).items.map((d) => [d.site, d.sid, d.status])).toEqual([[delivery.site, 'sid-1', 'pending']]);
  expect((await stores.audit.query({}, { limit: 10 })).items.map((e) => [e.type, e.sid])).toEqual([['session.revoked', 'sid-1']]);
  expect((await stores.adminTokens.list()).map((t) => t.name)).toEqual(['monitoring']);
}

describe('openStores: audit log, outbox and admin tokens', () => {
  it('live in the SQLite file of the session store by default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-open-'));
    const config = loadConfig({ env: { TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}`, TESSERA_LOG_LEVEL: 'silent' } }).config;
    try {
      const first = await openStores(config, systemClock, silentLogger());
      await writeAll(first);
      await first.close();
      const second = await openStores(config, systemClock, silentLogger());
      await expectAll(second);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('openStores: e-mail keys from before NFC', () => {
  it('starts, and warns by id (never by address) of each account the migration left with its old key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-open-'));
    const file = join(dir, 'tessera.db');
    try {
      // A file as the release before NFC keys left it: one address in both Unicode forms.
      const old = openDatabase(file);
      applyMigrations(old, 'users', userMigrations().slice(0, 2));
      const insert = old.prepare('INSERT INTO users (id, email, email_normalized, created_at) VALUES (?, ?, ?, ?)');
      insert.run('u-nfc', 'Zo\u00eb@example.org', 'zo\u00eb@example.org', 1_700_000_000);
      insert.run('u-nfd', 'Zoe\u0308@example.org', 'zoe\u0308@example.org', 1_600_000_000);
      old.close();

      const lines: Record<string, unknown>[] = [];
      const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
      const config = loadConfig({ env: { TESSERA_STORE: `sqlite:${file}`, TESSERA_LOG_LEVEL: 'silent' } }).config;
      const stores = await openStores(config, systemClock, logger);
      try {
        expect((await stores.users.findByEmail('zoe\u0308@example.org'))?.id).toBe('u-nfc');
        const warnings = lines.filter((line) => line.event === 'users-migration');
        expect(warnings).toEqual([expect.objectContaining({ level: 40, userId: 'u-nfd', heldBy: 'u-nfc' })]);
        expect(JSON.stringify(warnings)).not.toMatch(/example\.org/);
      } finally {
        await stores.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('storeLocations', () => {
  const locations = (env: Record<string, string>) => storeLocations(loadConfig({ env }).config);

  it('names SQLite files by absolute path, relative ones taken from the working directory', () => {
    expect(locations({})).toEqual({ sessionStore: resolve('data/tessera.db'), userDatabase: resolve('data/tessera.db') });
    expect(locations({ TESSERA_STORE: 'sqlite:/var/lib/tessera/hub.db' })).toEqual({ sessionStore: '/var/lib/tessera/hub.db', userDatabase: '/var/lib/tessera/hub.db' });
    expect(locations({ TESSERA_STORE: 'memory:' })).toEqual({ sessionStore: 'memory:', userDatabase: 'memory:' });
  });

  it('names Redis and PostgreSQL by URL without their credentials or query parameters (but the schema)', () => {
    expect(locations({ TESSERA_STORE: 'redis://:s3cret@10.0.0.5:6379/2' })).toEqual({ sessionStore: 'redis://***@10.0.0.5:6379/2', userDatabase: resolve('data/tessera.db') });
    expect(locations({ TESSERA_STORE: 'redis://10.0.0.5:6379' }).sessionStore).toBe('redis://10.0.0.5:6379');
    expect(locations({ TESSERA_STORE: 'redis+sentinel://s3cret@10.0.0.1:26379,10.0.0.2:26379/tessera' }).sessionStore).toBe('redis+sentinel://***@10.0.0.1:26379,10.0.0.2:26379/tessera');
    expect(locations({ TESSERA_STORE: 'rediss://user:p%40ss@word@r.example:6380' }).sessionStore).toBe('rediss://***@r.example:6380');
    const pg = locations({ TESSERA_STORE: 'redis://r:6379', TESSERA_DATABASE: 'postgres://tessera:s3cret@db.internal:5432/tessera?sslpassword=k3y&schema=hub' });
    expect(pg.userDatabase).toBe('postgres://***@db.internal:5432/tessera?schema=hub');
    expect(JSON.stringify(locations({ TESSERA_DATABASE: 'postgresql://u:s3cret@db/t?password=s3cret' }))).not.toMatch(/s3cret/);
  });

  it('hides every character of a password holding ?, # or / (sentinel and cluster URLs accept ? and #; an unencoded / is refused only after the log line)', () => {
    const urls = [
      'redis+sentinel://:ab?s3cret@10.0.0.1:26379/tessera',
      'redis+sentinel://ab#s3cret@10.0.0.1:26379/tessera',
      'redis+cluster://u:ab?s3cret@10.0.0.1:6379,10.0.0.2:6379',
      'redis://:ab/s3cret@r.example:6379',
      'rediss://:ab#s3cret@r.example',
    ];
    for (const url of urls) {
      const { sessionStore } = locations({ TESSERA_STORE: url });
      expect(sessionStore).not.toMatch(/ab|s3cret/);
      expect(sessionStore).toMatch(/^[a-z+]+:\/\/\*\*\*@/);
    }
    expect(locations({ TESSERA_STORE: 'redis+sentinel://:ab?s3cret@10.0.0.1:26379/tessera' }).sessionStore).toBe('redis+sentinel://***@10.0.0.1:26379/tessera');
    for (const url of ['postgres://tessera:ab/s3cret@db.internal/tessera?schema=hub', 'postgres://tessera:ab#s3cret@db.internal/tessera', 'postgres://tessera:ab?s3cret@db.internal/tessera']) {
      expect(locations({ TESSERA_STORE: 'redis://r:6379', TESSERA_DATABASE: url }).userDatabase).not.toMatch(/ab|s3cret/);
    }
    expect(locations({ TESSERA_STORE: 'redis://r:6379', TESSERA_DATABASE: 'postgres://tessera:ab/s3cret@db.internal/tessera?schema=hub' }).userDatabase).toBe('postgres://***@db.internal/tessera?schema=hub');
  });
});

describeWithPostgres('openStores with database.url', () => {
  it('puts them in PostgreSQL', async () => {
    const schema = `test_open_${randomBytes(6).toString('hex')}`;
    const admin = createPool(databaseUrl);
    await admin.query(`CREATE SCHEMA ${schema}`);
    const config = loadConfig({ env: { TESSERA_STORE: 'memory:', TESSERA_DATABASE: `${databaseUrl}?schema=${schema}`, TESSERA_LOG_LEVEL: 'silent' } }).config;
    try {
      const first = await openStores(config, systemClock, silentLogger());
      await writeAll(first);
      await first.close();
      const second = await openStores(config, systemClock, silentLogger());
      await expectAll(second);
      await second.close();
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });
});
