/**
 * The hub's periodic purge keeps the logout outbox bounded: deliveries that reached their site
 * longer ago than the audit retention are deleted (nothing else ever deletes them, and the
 * outbox gauges count the whole table at every scrape). Pending and failed ones stay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load';
import { FrozenClock, nowSeconds } from '../../src/core/clock';
import { silentLogger } from '../../src/log/logger';
import { purgeExpired } from '../../src/main';
import { openStores } from '../../src/stores/open';

describe('periodic purge of the logout outbox', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-ops-purge-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('deletes deliveries delivered before the retention and keeps the rest', async () => {
    const config = loadConfig({ env: { TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}`, TESSERA_AUDIT_RETENTION_DAYS: '30' } }).config;
    const clock = new FrozenClock(Date.UTC(2026, 0, 1));
    const stores = await openStores(config, clock, silentLogger());
    const delivery = (sid: string) => ({ site: 'https://www.example.org', uri: 'https://www.example.org/logout', sid, sub: null, reason: 'admin' });
    try {
      await stores.outbox.enqueue([delivery('old-delivered'), delivery('old-failed')]);
      const [delivered, failed] = await stores.outbox.claim(nowSeconds(clock), 10, 'worker', 30);
      expect(await stores.outbox.complete(delivered!.id, 'worker', nowSeconds(clock))).toBe(true);
      expect(await stores.outbox.fail(failed!.id, 'worker', nowSeconds(clock), 'HTTP 400', null)).toBe(true);
      clock.advance(20 * 86400 * 1000);
      await stores.outbox.enqueue([delivery('recent-delivered'), delivery('pending')]);
      const [recent] = await stores.outbox.claim(nowSeconds(clock), 1, 'worker', 30);
      expect(await stores.outbox.complete(recent!.id, 'worker', nowSeconds(clock))).toBe(true);
      clock.advance(15 * 86400 * 1000);

      await purgeExpired(config, clock, silentLogger(), stores);

      const left = await stores.outbox.list({}, { limit: 10 });
      expect(left.items.map((d) => `${d.sid}:${d.status}`).sort()).toEqual(['old-failed:failed', 'pending:pending', 'recent-delivered:delivered']);
    } finally {
      await stores.close();
    }
  });
});
