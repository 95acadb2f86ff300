/**
 * openStores loads a backend's client library only when the configuration names that backend:
 * a hub on SQLite never requires ioredis, one without `database.url` never requires pg (each
 * is heap the hub would keep for nothing; bench/README.md "http-hub-memory"). Both libraries
 * are replaced here by modules that fail when required, so any eager import fails this suite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load';
import { systemClock } from '../../src/core/clock';
import { silentLogger } from '../../src/log/logger';
import { openStores } from '../../src/stores/open';

jest.mock('pg', () => {
  throw new Error('pg was required');
});
jest.mock('ioredis', () => {
  throw new Error('ioredis was required');
});

const open = (env: Record<string, string>) => openStores(loadConfig({ env: { TESSERA_LOG_LEVEL: 'silent', ...env } }).config, systemClock, silentLogger());

describe('openStores: client libraries loaded on demand', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-open-lazy-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('opens and uses SQLite stores without requiring pg or ioredis', async () => {
    const stores = await open({ TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}` });
    try {
      expect(stores.kind).toBe('sqlite');
      const user = await stores.users.create({ email: 'ada@example.org', name: 'Ada' });
      expect((await stores.users.findByEmail('ada@example.org'))?.id).toBe(user.id);
    } finally {
      await stores.close();
    }
  });

  it('opens the memory store without requiring pg or ioredis', async () => {
    const stores = await open({ TESSERA_STORE: 'memory:' });
    await stores.close();
    expect(stores.kind).toBe('memory');
  });

  it('requires ioredis once the store URL is a Redis one', async () => {
    await expect(open({ TESSERA_STORE: 'redis://127.0.0.1:6379' })).rejects.toThrow('ioredis was required');
  });

  it('requires pg once database.url is set', async () => {
    await expect(open({ TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}`, TESSERA_DATABASE: 'postgres://tessera@127.0.0.1:5432/tessera' })).rejects.toThrow('pg was required');
  });
});
