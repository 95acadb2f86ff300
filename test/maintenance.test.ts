import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load';
import { FrozenClock } from '../src/core/clock';
import { silentLogger } from '../src/log/logger';
import { purgeExpired } from '../src/main';
import { openStores } from '../src/stores/open';

describe('periodic purge', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-purge-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('deletes audit events past the retention and keeps newer ones', async () => {
    const config = loadConfig({ env: { TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}`, TESSERA_AUDIT_RETENTION_DAYS: '30' } }).config;
    const clock = new FrozenClock(Date.UTC(2026, 0, 1));
    const stores = await openStores(config, clock, silentLogger());
    try {
      await stores.audit.append({ type: 'logout', reason: 'user-logout' });
      clock.advance(20 * 86400 * 1000);
      await stores.audit.append({ type: 'logout', reason: 'user-logout' });
      clock.advance(15 * 86400 * 1000);
      await purgeExpired(config, clock, silentLogger(), stores);
      const left = await stores.audit.query({}, { limit: 10 });
      expect(left.items).toHaveLength(1);
      expect(left.items[0]!.at).toBe(Date.UTC(2026, 0, 21) / 1000);
    } finally {
      await stores.close();
    }
  });
});
