/**
 * The metrics themselves, without HTTP: one registry per hub, bounded label values, the gauges
 * read at scrape time (and what they say when their source fails), the store timing wrapper,
 * and the outbox worker's outcome hook.
 */
import { register as globalRegistry } from 'prom-client';
import { FrozenClock } from '../../src/core/clock';
import { TesseraError } from '../../src/core/errors';
import type { KeyInfo } from '../../src/core/keys/keyring';
import { silentLogger } from '../../src/log/logger';
import { createHubMetrics, type MetricsSources } from '../../src/metrics/hub-metrics';
import { timeStore } from '../../src/metrics/store-timing';
import { createOutboxWorker } from '../../src/outbox/worker';
import type { OutboxStats } from '../../src/ports';
import { openDatabase } from '../../src/stores/sqlite/database';
import { SqliteOutbox } from '../../src/stores/sqlite/outbox';
import { parseExposition, sampleValue } from './exposition';

const clock = new FrozenClock(Date.UTC(2026, 10, 22, 12, 0, 0));
const now = clock.now() / 1000;

function sources(overrides: Partial<MetricsSources> = {}): MetricsSources {
  return {
    outbox: { stats: async () => ({ pending: 0, failed: 0, oldestPendingAt: null }) },
    keyring: { list: () => [] },
    clock,
    logger: silentLogger(),
    processMetrics: false,
    ...overrides,
  };
}

async function scrape(metrics: ReturnType<typeof createHubMetrics>) {
  return parseExposition(await metrics.registry.metrics());
}

describe('HubMetrics', () => {
  it('keeps each hub on its own registry, never the global one', async () => {
    const a = createHubMetrics(sources());
    const b = createHubMetrics(sources());
    a.countHandoff('https://shop.example.net', 'accepted');
    a.countHandoff('https://shop.example.net', 'accepted');
    b.countHandoff('https://shop.example.net', 'accepted');
    expect(sampleValue(await scrape(a), 'tessera_handoffs_total', { site: 'https://shop.example.net', result: 'accepted', reason: 'none' })).toBe(2);
    expect(sampleValue(await scrape(b), 'tessera_handoffs_total', { site: 'https://shop.example.net', result: 'accepted', reason: 'none' })).toBe(1);
    expect(globalRegistry.getSingleMetric('tessera_handoffs_total')).toBeUndefined();
  });

  it('labels rejections with their error code and anything else as ERR_INTERNAL', async () => {
    const metrics = createHubMetrics(sources());
    metrics.countHandoff('https://shop.example.net', 'rejected', 'ERR_HANDOFF_REPLAYED');
    metrics.countHandoff('https://shop.example.net', 'rejected', 'ECONNRESET <script>');
    const samples = await scrape(metrics);
    expect(sampleValue(samples, 'tessera_handoffs_total', { result: 'rejected', reason: 'ERR_HANDOFF_REPLAYED' })).toBe(1);
    expect(sampleValue(samples, 'tessera_handoffs_total', { result: 'rejected', reason: 'ERR_INTERNAL' })).toBe(1);
    expect(samples.filter((s) => s.name === 'tessera_handoffs_total')).toHaveLength(2);
  });

  it('starts login and delivery counters at zero, so rates exist before the first event', async () => {
    const samples = await scrape(createHubMetrics(sources()));
    for (const method of ['password', 'magic-link']) {
      for (const result of ['success', 'failure']) expect(sampleValue(samples, 'tessera_logins_total', { method, result })).toBe(0);
    }
    for (const result of ['delivered', 'retry', 'failed', 'dropped']) expect(sampleValue(samples, 'tessera_outbox_deliveries_total', { result })).toBe(0);
  });

  it('reads the outbox once per scrape, and reports NaN (unknown), not 0, when it cannot', async () => {
    let calls = 0;
    let stats: OutboxStats | Error = { pending: 4, failed: 2, oldestPendingAt: now - 90 };
    const metrics = createHubMetrics(
      sources({
        outbox: {
          stats: async () => {
            calls += 1;
            if (stats instanceof Error) throw stats;
            return stats;
          },
        },
      }),
    );
    const first = await scrape(metrics);
    expect(sampleValue(first, 'tessera_outbox_pending')).toBe(4);
    expect(sampleValue(first, 'tessera_outbox_failed')).toBe(2);
    expect(sampleValue(first, 'tessera_outbox_oldest_pending_seconds')).toBe(90);
    expect(calls).toBe(1);

    stats = new TesseraError('ERR_STORE_UNAVAILABLE', 'outbox unavailable');
    const failed = await scrape(metrics);
    expect(calls).toBe(2);
    expect(sampleValue(failed, 'tessera_outbox_pending')).toBeNaN();
    expect(sampleValue(failed, 'tessera_outbox_failed')).toBeNaN();
  });

  it('reports each key\'s age by kid and state, dropping keys that left the keyring', async () => {
    const key = (kid: string, state: KeyInfo['state'], age: number): KeyInfo => ({ kid, alg: 'RS256', state, createdAt: now - age, activatesAt: now - age, retiredAt: null, publishedUntil: null });
    let keys = [key('old-kid', 'retired', 86400 * 40), key('new-kid', 'active', 3600)];
    const metrics = createHubMetrics(sources({ keyring: { list: () => keys } }));
    let samples = await scrape(metrics);
    expect(sampleValue(samples, 'tessera_key_age_seconds', { kid: 'new-kid', state: 'active' })).toBe(3600);
    expect(sampleValue(samples, 'tessera_key_age_seconds', { kid: 'old-kid', state: 'retired' })).toBe(86400 * 40);
    keys = [keys[1]!];
    samples = await scrape(metrics);
    expect(sampleValue(samples, 'tessera_key_age_seconds', { kid: 'old-kid' })).toBeUndefined();
  });

  it('adds the process metrics when asked (RSS, event loop lag)', async () => {
    const samples = await scrape(createHubMetrics(sources({ processMetrics: true })));
    expect(sampleValue(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(samples.some((s) => s.name.startsWith('nodejs_eventloop_lag'))).toBe(true);
  });
});

describe('tessera_store_operation_seconds', () => {
  it('is a Prometheus histogram: cumulative buckets by upper bound (inclusive), +Inf equal to the count, and the sum', async () => {
    const metrics = createHubMetrics(sources());
    const observe = metrics.storeObserver('replay', 'rememberOnce');
    for (const seconds of [0.00005, 0.001, 0.001, 0.02, 7]) observe(seconds);
    // Asked again for the same labels: the same series, not a duplicate.
    metrics.storeObserver('replay', 'rememberOnce')(0.0002);
    metrics.storeObserver('replay', 'never-called');
    const text = await metrics.registry.metrics();
    expect(text).toContain('# TYPE tessera_store_operation_seconds histogram');
    const samples = parseExposition(text);
    const bucket = (le: string) => sampleValue(samples, 'tessera_store_operation_seconds_bucket', { store: 'replay', operation: 'rememberOnce', le });
    expect(bucket('0.0001')).toBe(1);
    expect(bucket('0.00025')).toBe(2);
    expect(bucket('0.001')).toBe(4);
    expect(bucket('0.025')).toBe(5);
    expect(bucket('5')).toBe(5);
    expect(bucket('+Inf')).toBe(6);
    expect(sampleValue(samples, 'tessera_store_operation_seconds_count', { store: 'replay', operation: 'rememberOnce' })).toBe(6);
    expect(sampleValue(samples, 'tessera_store_operation_seconds_sum', { store: 'replay', operation: 'rememberOnce' })).toBeCloseTo(7.02225, 10);
    // An operation never called has no series.
    expect(samples.some((s) => s.labels.operation === 'never-called')).toBe(false);
  });
});

describe('timeStore', () => {
  class Store {
    calls = 0;
    constructor(private readonly answer: string) {}
    async find(id: string): Promise<string> {
      this.calls += 1;
      return `${this.answer}:${id}:${this.inner()}`;
    }
    async broken(): Promise<never> {
      throw new TesseraError('ERR_STORE_UNAVAILABLE', 'down');
    }
    sync(): number {
      return 7;
    }
    private inner(): string {
      return 'inner';
    }
  }

  it('times every call of every method once, and behaves exactly like the store', async () => {
    const metrics = createHubMetrics(sources());
    const store = new Store('found');
    const timed = timeStore(store, 'sessions', (name, operation) => metrics.storeObserver(name, operation));
    await expect(timed.find('a')).resolves.toBe('found:a:inner');
    await expect(timed.find('b')).resolves.toBe('found:b:inner');
    await expect(timed.broken()).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(timed.sync()).toBe(7);
    expect(timed.calls).toBe(2);

    const samples = await scrape(metrics);
    const count = (operation: string) => sampleValue(samples, 'tessera_store_operation_seconds_count', { store: 'sessions', operation });
    expect(count('find')).toBe(2);
    expect(count('broken')).toBe(1);
    expect(count('sync')).toBe(1);
    // A method the store calls on itself is not counted again.
    expect(count('inner')).toBeUndefined();
    const sum = sampleValue(samples, 'tessera_store_operation_seconds_sum', { store: 'sessions', operation: 'find' })!;
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(1);
  });
});

describe('the outbox worker outcome hook', () => {
  it('counts delivered, retry and failed attempts', async () => {
    const db = openDatabase(':memory:');
    const workerClock = new FrozenClock(clock.now());
    const outbox = new SqliteOutbox(db, { clock: workerClock });
    const metrics = createHubMetrics(sources());
    const answers = new Map([
      ['https://ok.example/bcl', 204],
      ['https://later.example/bcl', 503],
      ['https://refuses.example/bcl', 400],
    ]);
    const worker = createOutboxWorker({
      outbox,
      clock: workerClock,
      logger: silentLogger(),
      workerId: 'test',
      mint: () => 'token',
      configuredSite: (origin) => ({ backchannelLogoutUri: `${origin}/bcl` }),
      fetch: async (input) => new Response(null, { status: answers.get(String(input)) ?? 500 }),
      backoff: { maxRefusedAttempts: 1 },
      onOutcome: (result) => metrics.countDelivery(result),
    });
    await outbox.enqueue([...answers.keys()].map((uri) => ({ site: new URL(uri).origin, uri, sid: 'sid', sub: null, reason: 'admin' })));
    expect(await worker.runOnce()).toBe(3);
    const samples = await scrape(metrics);
    expect(sampleValue(samples, 'tessera_outbox_deliveries_total', { result: 'delivered' })).toBe(1);
    expect(sampleValue(samples, 'tessera_outbox_deliveries_total', { result: 'retry' })).toBe(1);
    expect(sampleValue(samples, 'tessera_outbox_deliveries_total', { result: 'failed' })).toBe(1);
    db.close();
  });
});
