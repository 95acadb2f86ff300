import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FrozenClock, nowSeconds } from '../../src/core/clock';
import { createLogger, type Logger } from '../../src/log/logger';
import { createOutboxWorker, type OutboxWorkerOptions } from '../../src/outbox/worker';
import type { Delivery, NewDelivery } from '../../src/ports';
import { openDatabase } from '../../src/stores/sqlite/database';
import { SqliteOutbox } from '../../src/stores/sqlite/outbox';
import { contractStart, newDelivery } from '../contract/outbox.contract';

interface Received {
  method: string | undefined;
  contentType: string | undefined;
  body: string;
}

/** A site's back-channel logout endpoint on a real local HTTP server. */
class Site {
  readonly requests: Received[] = [];
  /** What the endpoint answers; a function may hold the answer back. */
  answer: (res: http.ServerResponse) => void = (res) => res.writeHead(200).end();
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.requests.push({ method: req.method, contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
      this.onRequest?.();
      this.answer(res);
    });
  });
  private onRequest: (() => void) | null = null;
  port = 0;

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get uri(): string {
    return `http://127.0.0.1:${this.port}/backchannel-logout`;
  }

  /** Resolves when the next request has arrived. */
  nextRequest(): Promise<void> {
    return new Promise((resolve) => {
      this.onRequest = resolve;
    });
  }
}

const t0 = contractStart / 1000;
const mint = (delivery: Delivery) => `token-for-${delivery.sid}-${delivery.attempts}`;

describe('outbox worker', () => {
  let clock: FrozenClock;
  let outbox: SqliteOutbox;
  let closeDb: () => void;
  let logLines: Record<string, unknown>[];
  let logger: Logger;
  const sites: Site[] = [];

  async function site(port?: number): Promise<Site> {
    const started = await new Site().listen(port);
    sites.push(started);
    return started;
  }

  /** A port nothing listens on: a site that is down. */
  async function closedPort(): Promise<number> {
    const down = await new Site().listen();
    await down.close();
    return down.port;
  }

  /**
   * The sites as the hub is configured now, by origin: their `backchannelLogoutUri` (null: none).
   * A site missing here is not configured (any more).
   */
  let configured: Map<string, string | null>;

  function worker(overrides: Partial<OutboxWorkerOptions> = {}) {
    return createOutboxWorker({
      outbox,
      clock,
      mint,
      logger,
      workerId: 'hub-a',
      random: () => 0.5,
      configuredSite: (origin) => (configured.has(origin) ? { backchannelLogoutUri: configured.get(origin)! } : null),
      ...overrides,
    });
  }

  /** Queues deliveries; a site not configured yet is configured with the URI it is queued with. */
  async function enqueue(items: NewDelivery[]): Promise<void> {
    for (const item of items) if (!configured.has(item.site)) configured.set(item.site, item.uri);
    await outbox.enqueue(items);
  }

  async function stored(): Promise<Delivery[]> {
    return (await outbox.list({}, { limit: 100 })).items.reverse();
  }

  beforeEach(() => {
    configured = new Map();
    clock = new FrozenClock(contractStart);
    const db = openDatabase(':memory:');
    outbox = new SqliteOutbox(db, { clock });
    closeDb = () => db.close();
    logLines = [];
    logger = createLogger({ level: 'info', destination: { write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>) } });
  });

  afterEach(async () => {
    closeDb();
    await Promise.all(sites.splice(0).map((s) => s.close()));
  });

  it('POSTs a form-encoded logout token to each site once and records the delivery', async () => {
    const [shop, blog] = [await site(), await site()];
    const minted: Delivery[] = [];
    const run = worker({ mint: (d) => (minted.push(d), mint(d)) });
    await enqueue([newDelivery(2, { uri: shop.uri }), newDelivery(3, { uri: blog.uri })]);

    expect(await run.runOnce()).toBe(2);
    for (const [received, sid] of [[shop, 'sid-2'], [blog, 'sid-3']] as const) {
      expect(received.requests).toEqual([
        { method: 'POST', contentType: 'application/x-www-form-urlencoded', body: `logout_token=token-for-${sid}-1` },
      ]);
    }
    expect(minted.map((d) => [d.sid, d.sub, d.attempts])).toEqual([
      ['sid-2', 'user-2', 1],
      ['sid-3', null, 1],
    ]);
    expect((await stored()).map((d) => [d.status, d.deliveredAt, d.attempts])).toEqual([
      ['delivered', t0, 1],
      ['delivered', t0, 1],
    ]);
    clock.advance(3_600_000);
    expect(await run.runOnce()).toBe(0);
    expect(shop.requests).toHaveLength(1);
  });

  it('takes 204 as delivered too', async () => {
    const shop = await site();
    shop.answer = (res) => res.writeHead(204).end();
    await enqueue([newDelivery(1, { uri: shop.uri })]);
    await worker().runOnce();
    expect((await stored())[0]?.status).toBe('delivered');
  });

  it('delivers to a site that was down once it is back, after the backoff', async () => {
    const port = await closedPort();
    await enqueue([newDelivery(1, { uri: `http://127.0.0.1:${port}/backchannel-logout` })]);
    const run = worker();

    expect(await run.runOnce()).toBe(1);
    expect((await stored())[0]).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: t0 + 2, lastError: 'network error: ECONNREFUSED' });

    const back = await site(port);
    clock.advance(1_000);
    expect(await run.runOnce()).toBe(0);
    expect(back.requests).toHaveLength(0);
    clock.advance(1_000);
    expect(await run.runOnce()).toBe(1);
    expect(back.requests.map((r) => r.body)).toEqual(['logout_token=token-for-sid-1-2']);
    expect((await stored())[0]).toMatchObject({ status: 'delivered', attempts: 2, deliveredAt: t0 + 2 });
  });

  it('gives up after maxAttempts, records it, tells onGiveUp and logs it without the token', async () => {
    const shop = await site();
    shop.answer = (res) => res.writeHead(503).end();
    const givenUp: Delivery[] = [];
    const run = worker({ backoff: { maxAttempts: 3 }, onGiveUp: (d) => givenUp.push(d) });
    await enqueue([newDelivery(1, { uri: shop.uri, reason: 'admin' })]);

    for (let attempt = 1; attempt <= 3; attempt += 1) {
      expect(await run.runOnce()).toBe(1);
      clock.advance(3_600_000);
    }
    expect(await run.runOnce()).toBe(0);
    expect(shop.requests).toHaveLength(3);
    const [failed] = await stored();
    expect(failed).toMatchObject({ status: 'failed', attempts: 3, lastError: 'HTTP 503', failedAt: t0 + 2 * 3600 });
    expect(givenUp).toEqual([failed]);
    const giveUps = logLines.filter((line) => line.msg === 'back-channel logout given up');
    expect(giveUps).toEqual([expect.objectContaining({ level: 40, site: 'https://site1.example', reason: 'admin', attempts: 3, error: 'HTTP 503' })]);
    expect(JSON.stringify(logLines)).not.toContain('token-for');
  });

  it('gives up on a site that refuses the token (400) after 3 attempts, but retries 429 and 503 on the full schedule', async () => {
    const refusing = await site();
    refusing.answer = (res) => res.writeHead(400).end();
    const busy = await site();
    busy.answer = (res) => res.writeHead(429).end();
    const run = worker();
    await enqueue([newDelivery(1, { uri: refusing.uri }), newDelivery(2, { uri: busy.uri })]);

    for (let attempt = 1; attempt <= 3; attempt += 1) {
      await run.runOnce();
      clock.advance(3_600_000);
    }
    expect((await stored()).map((d) => [d.status, d.attempts, d.lastError])).toEqual([
      ['failed', 3, 'HTTP 400'],
      ['pending', 3, 'HTTP 429'],
    ]);
  });

  it('follows no redirect', async () => {
    const elsewhere = await site();
    const shop = await site();
    shop.answer = (res) => res.writeHead(307, { location: elsewhere.uri }).end();
    await enqueue([newDelivery(1, { uri: shop.uri })]);
    await worker().runOnce();
    expect(elsewhere.requests).toHaveLength(0);
    expect((await stored())[0]).toMatchObject({ status: 'pending', lastError: 'HTTP 307' });
  });

  it('stops waiting for a site after timeoutMs', async () => {
    const stuck = await site();
    stuck.answer = () => undefined;
    await enqueue([newDelivery(1, { uri: stuck.uri })]);
    await worker({ timeoutMs: 200 }).runOnce();
    expect((await stored())[0]).toMatchObject({ status: 'pending', attempts: 1, lastError: 'timeout after 200 ms' });
  });

  it('retries when no token can be minted', async () => {
    const shop = await site();
    await enqueue([newDelivery(1, { uri: shop.uri })]);
    await worker({
      mint: () => {
        throw new Error('no active signing key');
      },
    }).runOnce();
    expect(shop.requests).toHaveLength(0);
    expect((await stored())[0]).toMatchObject({ status: 'pending', nextAttemptAt: t0 + 2, lastError: 'cannot mint a logout token' });
  });

  it('delivers after a hub restart what was pending or in flight when it stopped', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-outbox-worker-'));
    const file = path.join(dir, 'tessera.db');
    try {
      const port = await closedPort();
      const uri = `http://127.0.0.1:${port}/backchannel-logout`;
      const before = openDatabase(file);
      outbox = new SqliteOutbox(before, { clock });
      await enqueue([newDelivery(1, { uri }), newDelivery(2, { uri })]);
      // The first hub tries one delivery while the site is down, and dies holding the other.
      await worker({ batch: 1 }).runOnce();
      await outbox.claim(nowSeconds(clock), 1, 'hub-a', 30);
      before.close();

      const back = await site(port);
      const after = openDatabase(file);
      closeDb = () => after.close();
      outbox = new SqliteOutbox(after, { clock });
      const restarted = worker({ workerId: 'hub-b' });
      clock.advance(2_000);
      expect(await restarted.runOnce()).toBe(1);
      clock.advance(28_000);
      expect(await restarted.runOnce()).toBe(1);
      expect(back.requests.map((r) => r.body).sort()).toEqual(['logout_token=token-for-sid-1-2', 'logout_token=token-for-sid-2-2']);
      expect((await stored()).map((d) => d.status)).toEqual(['delivered', 'delivered']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('delivers on kick without waiting for the poll, and stop waits for the delivery in flight', async () => {
    const shop = await site();
    let release = () => {};
    shop.answer = (res) => {
      release = () => res.writeHead(200).end();
    };
    const run = worker({ pollIntervalMs: 60_000 });
    run.start();
    const arrived = shop.nextRequest();
    await enqueue([newDelivery(1, { uri: shop.uri })]);
    run.kick();
    await arrived;

    let stopped = false;
    const stopping = run.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect((await stored())[0]).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  describe('the site as configured when the delivery is sent', () => {
    it('POSTs to the site\'s current back-channel URI when it changed since the delivery was queued, and records it', async () => {
      const [before, after] = [await site(), await site()];
      await enqueue([newDelivery(1, { uri: before.uri })]);
      configured.set('https://site1.example', after.uri);
      const run = worker();

      expect(await run.runOnce()).toBe(1);
      expect(before.requests).toEqual([]);
      expect(after.requests.map((r) => r.body)).toEqual(['logout_token=token-for-sid-1-1']);
      expect((await stored())[0]).toMatchObject({ site: 'https://site1.example', uri: after.uri, status: 'delivered', attempts: 1, deliveredAt: t0 });
      expect(logLines.filter((line) => line.msg === 'back-channel logout URI changed since it was queued')).toEqual([
        expect.objectContaining({ level: 30, site: 'https://site1.example' }),
      ]);
      expect(JSON.stringify(logLines)).not.toContain(String(after.port));
    });

    it('retries at the current URI: a failure at the old one is not repeated there', async () => {
      const [before, after] = [await site(), await site()];
      before.answer = (res) => res.writeHead(503).end();
      await enqueue([newDelivery(1, { uri: before.uri })]);
      const run = worker();
      await run.runOnce();
      expect(before.requests).toHaveLength(1);

      configured.set('https://site1.example', after.uri);
      clock.advance(2_000);
      expect(await run.runOnce()).toBe(1);
      expect(before.requests).toHaveLength(1);
      expect(after.requests.map((r) => r.body)).toEqual(['logout_token=token-for-sid-1-2']);
      expect((await stored())[0]).toMatchObject({ uri: after.uri, status: 'delivered', attempts: 2, lastError: 'HTTP 503' });
    });

    it('drops, without minting or sending, a delivery to a site removed from the configuration', async () => {
      const removed = await site();
      const kept = await site();
      const outcomes: string[] = [];
      const minted: string[] = [];
      const told: Delivery[] = [];
      await enqueue([newDelivery(1, { uri: removed.uri, reason: 'admin' }), newDelivery(2, { uri: kept.uri })]);
      configured.delete('https://site1.example');
      const run = worker({ onOutcome: (result) => outcomes.push(result), onDrop: (d) => told.push(d), mint: (d) => (minted.push(d.sid), mint(d)) });

      expect(await run.runOnce()).toBe(2);
      expect(removed.requests).toEqual([]);
      expect(kept.requests).toHaveLength(1);
      expect(minted).toEqual(['sid-2']);
      expect(outcomes.sort()).toEqual(['delivered', 'dropped']);
      const [dropped, delivered] = await stored();
      expect(dropped).toMatchObject({ site: 'https://site1.example', uri: removed.uri, status: 'dropped', attempts: 1, droppedAt: t0, lastError: 'site not configured', deliveredAt: null, failedAt: null });
      expect(delivered).toMatchObject({ status: 'delivered' });
      expect(told).toEqual([dropped]);
      expect(logLines.filter((line) => line.msg === 'back-channel logout dropped')).toEqual([
        expect.objectContaining({ level: 40, site: 'https://site1.example', sid: 'sid-1', reason: 'admin', why: 'site not configured' }),
      ]);

      // Dropped is final: never claimed again, however long the worker runs.
      clock.advance(86_400_000);
      expect(await run.runOnce()).toBe(0);
      expect(removed.requests).toEqual([]);
      expect(await outbox.stats()).toEqual({ pending: 0, failed: 0, oldestPendingAt: null });
    });

    it('drops a delivery to a site that no longer has a back-channel URI', async () => {
      const shop = await site();
      await enqueue([newDelivery(1, { uri: shop.uri })]);
      configured.set('https://site1.example', null);
      // A listener that throws is logged; the drop stays recorded.
      expect(
        await worker({
          onDrop: () => {
            throw new Error('listener broke');
          },
        }).runOnce(),
      ).toBe(1);
      expect(shop.requests).toEqual([]);
      expect((await stored())[0]).toMatchObject({ status: 'dropped', droppedAt: t0, lastError: 'site has no backchannelLogoutUri' });
      expect(logLines.filter((line) => line.msg === 'onDrop listener failed')).toEqual([expect.objectContaining({ level: 50 })]);
    });

    it('delivers a dropped delivery an admin retried once the site is configured again', async () => {
      const shop = await site();
      await enqueue([newDelivery(1, { uri: shop.uri })]);
      configured.delete('https://site1.example');
      const run = worker();
      await run.runOnce();
      const [dropped] = await stored();

      configured.set('https://site1.example', shop.uri);
      clock.advance(60_000);
      expect(await outbox.retry(dropped!.id, nowSeconds(clock))).toBe(true);
      expect(await run.runOnce()).toBe(1);
      expect(shop.requests.map((r) => r.body)).toEqual(['logout_token=token-for-sid-1-2']);
      expect((await stored())[0]).toMatchObject({ status: 'delivered', attempts: 2, droppedAt: null, deliveredAt: t0 + 60 });
    });
  });

  it('refuses options that cannot work', () => {
    for (const overrides of [{ batch: 0 }, { batch: 501 }, { pollIntervalMs: 1.5 }, { timeoutMs: 30_000, leaseSeconds: 30 }, { workerId: '' }]) {
      let code: unknown = 'created';
      try {
        worker(overrides);
      } catch (err) {
        code = (err as { code?: unknown }).code;
      }
      expect([overrides, code]).toEqual([overrides, 'ERR_CONFIG_INVALID']);
    }
  });
});
