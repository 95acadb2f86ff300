/**
 * The contract every `Outbox` adapter fulfils (ports.ts). Adapter test files call
 * `describeOutboxContract` with a function that opens a fresh, empty outbox.
 */
import { nowSeconds, type FrozenClock } from '../../src/core/clock';
import type { Delivery, NewDelivery, Outbox } from '../../src/ports';
import { codeOf, contractStart } from './sql-subject';

export interface OutboxSubject {
  outbox: Outbox;
  /** The clock the outbox was given; starts at `contractStart`. */
  clock: FrozenClock;
  /** Releases everything `open` created. */
  dispose(): Promise<void>;
}

export { contractStart };
const t0 = contractStart / 1000;

/** A delivery for session `sid-<n>` at one of three sites. */
export function newDelivery(n: number, overrides: Partial<NewDelivery> = {}): NewDelivery {
  const site = `https://site${n % 3}.example`;
  return { site, uri: `${site}/backchannel-logout`, sid: `sid-${n}`, sub: n % 2 === 0 ? `user-${n}` : null, reason: 'logout', ...overrides };
}

function sids(deliveries: Delivery[]): string[] {
  return deliveries.map((delivery) => delivery.sid);
}

export function describeOutboxContract(open: () => Promise<OutboxSubject>): void {
  let subject: OutboxSubject;
  let outbox: Outbox;
  const now = () => nowSeconds(subject.clock);

  beforeEach(async () => {
    subject = await open();
    outbox = subject.outbox;
  });

  afterEach(async () => {
    await subject.dispose();
  });

  /** Enqueues deliveries 1..n and returns them as stored, oldest first. */
  async function enqueued(n: number): Promise<Delivery[]> {
    await outbox.enqueue(Array.from({ length: n }, (_, i) => newDelivery(i + 1)));
    return (await outbox.list({}, { limit: 500 })).items.reverse();
  }

  describe('enqueue', () => {
    it('stores pending deliveries, due now, with increasing ids', async () => {
      subject.clock.advance(5_000);
      await outbox.enqueue([newDelivery(1), newDelivery(2)]);
      const stored = (await outbox.list({}, { limit: 10 })).items;
      expect(stored).toEqual([
        {
          ...newDelivery(2),
          id: expect.stringMatching(/^[1-9][0-9]*$/),
          status: 'pending',
          attempts: 0,
          createdAt: t0 + 5,
          nextAttemptAt: t0 + 5,
          lastError: null,
          deliveredAt: null,
          failedAt: null,
          droppedAt: null,
        },
        expect.objectContaining({ ...newDelivery(1), status: 'pending', createdAt: t0 + 5 }),
      ]);
      expect(Number(stored[0]?.id)).toBeGreaterThan(Number(stored[1]?.id));
    });

    it('stores all items or none', async () => {
      const broken = { ...newDelivery(2), site: null } as unknown as NewDelivery;
      await expect(outbox.enqueue([newDelivery(1), broken, newDelivery(3)])).rejects.toBeDefined();
      await outbox.enqueue([]);
      expect((await outbox.list({}, { limit: 10 })).items).toEqual([]);
    });
  });

  describe('claim', () => {
    it('leases due deliveries, oldest first, up to the limit, and counts an attempt', async () => {
      await enqueued(3);
      const first = await outbox.claim(now(), 2, 'worker-a', 30);
      expect(sids(first)).toEqual(['sid-1', 'sid-2']);
      expect(first.map((d) => [d.attempts, d.nextAttemptAt, d.status])).toEqual([
        [1, t0 + 30, 'pending'],
        [1, t0 + 30, 'pending'],
      ]);
      expect(sids(await outbox.claim(now(), 10, 'worker-b', 30))).toEqual(['sid-3']);
      expect(await outbox.claim(now(), 10, 'worker-c', 30)).toEqual([]);
    });

    it('leaves deliveries that are not due yet', async () => {
      const [a, b] = await enqueued(2);
      await outbox.claim(now(), 10, 'worker-a', 30);
      expect(await outbox.fail(a!.id, 'worker-a', now(), 'HTTP 503', t0 + 10)).toBe(true);
      expect(await outbox.fail(b!.id, 'worker-a', now(), 'HTTP 503', t0 + 5)).toBe(true);
      expect(await outbox.claim(t0 + 4, 10, 'worker-a', 30)).toEqual([]);
      expect(sids(await outbox.claim(t0 + 10, 10, 'worker-a', 30))).toEqual(['sid-1', 'sid-2']);
    });

    it('makes a delivery claimable again when its lease ends, and the old holder loses it', async () => {
      const [a] = await enqueued(1);
      await outbox.claim(now(), 10, 'worker-a', 30);
      subject.clock.advance(29_000);
      expect(await outbox.claim(now(), 10, 'worker-b', 30)).toEqual([]);
      subject.clock.advance(1_000);
      const again = await outbox.claim(now(), 10, 'worker-b', 30);
      expect(again.map((d) => [d.id, d.attempts, d.nextAttemptAt])).toEqual([[a!.id, 2, t0 + 60]]);
      expect(await outbox.complete(a!.id, 'worker-a', now())).toBe(false);
      expect(await outbox.fail(a!.id, 'worker-a', now(), 'late', null)).toBe(false);
      expect(await outbox.complete(a!.id, 'worker-b', now())).toBe(true);
    });

    it('never hands one delivery to two of 20 concurrent claims', async () => {
      await enqueued(50);
      const batches = await Promise.all(Array.from({ length: 20 }, (_, i) => outbox.claim(now(), 5, `worker-${i}`, 30)));
      const ids = batches.flat().map((d) => d.id);
      expect(new Set(ids).size).toBe(ids.length);
      // Whatever a claim skipped while another held its lock is still there for the next one.
      const rest = await outbox.claim(now(), 50, 'worker-late', 30);
      expect(new Set([...ids, ...rest.map((d) => d.id)]).size).toBe(50);
      expect(ids.length + rest.length).toBe(50);
    });
  });

  describe('complete and fail', () => {
    it('records a delivery, only for the worker holding it', async () => {
      const [a] = await enqueued(1);
      await outbox.claim(now(), 10, 'worker-a', 30);
      subject.clock.advance(2_000);
      expect(await outbox.complete(a!.id, 'worker-b', now())).toBe(false);
      expect(await outbox.complete(a!.id, 'worker-a', now())).toBe(true);
      expect(await outbox.complete(a!.id, 'worker-a', now())).toBe(false);
      expect((await outbox.list({}, { limit: 10 })).items[0]).toMatchObject({ status: 'delivered', deliveredAt: t0 + 2, attempts: 1, failedAt: null });
      subject.clock.advance(60_000);
      expect(await outbox.claim(now(), 10, 'worker-a', 30)).toEqual([]);
    });

    it('reschedules a failed attempt and releases the lease', async () => {
      const [a] = await enqueued(1);
      await outbox.claim(now(), 10, 'worker-a', 30);
      expect(await outbox.fail(a!.id, 'worker-a', now(), 'network error: ECONNREFUSED', t0 + 2)).toBe(true);
      expect(await outbox.fail(a!.id, 'worker-a', now(), 'again', t0 + 2)).toBe(false);
      expect((await outbox.list({}, { limit: 10 })).items[0]).toMatchObject({
        status: 'pending',
        attempts: 1,
        nextAttemptAt: t0 + 2,
        lastError: 'network error: ECONNREFUSED',
        failedAt: null,
      });
    });

    it('gives up when there is no next attempt, and keeps the error short', async () => {
      const [a] = await enqueued(1);
      await outbox.claim(now(), 10, 'worker-a', 30);
      subject.clock.advance(3_000);
      expect(await outbox.fail(a!.id, 'worker-a', now(), `HTTP 400 ${'x'.repeat(1000)}`, null)).toBe(true);
      const [failed] = (await outbox.list({}, { limit: 10 })).items;
      expect(failed).toMatchObject({ status: 'failed', failedAt: t0 + 3, deliveredAt: null });
      expect(failed?.lastError?.startsWith('HTTP 400 xxx')).toBe(true);
      expect(failed?.lastError?.length).toBeLessThanOrEqual(200);
      subject.clock.advance(3_600_000);
      expect(await outbox.claim(now(), 10, 'worker-a', 30)).toEqual([]);
    });

    it('answers false for ids it never assigned', async () => {
      await enqueued(1);
      for (const id of ['999999', 'abc', '', '1; DROP TABLE logout_outbox', '99999999999999999999']) {
        expect(await outbox.complete(id, 'worker-a', now())).toBe(false);
        expect(await outbox.fail(id, 'worker-a', now(), 'x', null)).toBe(false);
        expect(await outbox.retry(id, now())).toBe(false);
        expect(await outbox.drop(id, 'worker-a', now(), 'site not configured')).toBe(false);
        expect(await outbox.retarget(id, 'worker-a', 'https://site1.example/elsewhere')).toBe(false);
      }
      expect((await outbox.list({}, { limit: 10 })).items).toHaveLength(1);
    });
  });

  describe('drop and retarget', () => {
    it('drops a delivery for good, only for the worker holding it, keeping why', async () => {
      const [a] = await enqueued(1);
      await outbox.claim(now(), 10, 'worker-a', 30);
      subject.clock.advance(4_000);
      expect(await outbox.drop(a!.id, 'worker-b', now(), 'site not configured')).toBe(false);
      expect(await outbox.drop(a!.id, 'worker-a', now(), 'site not configured')).toBe(true);
      expect(await outbox.drop(a!.id, 'worker-a', now(), 'site not configured')).toBe(false);
      expect(await outbox.complete(a!.id, 'worker-a', now())).toBe(false);
      expect((await outbox.list({}, { limit: 10 })).items[0]).toMatchObject({
        status: 'dropped',
        droppedAt: t0 + 4,
        lastError: 'site not configured',
        attempts: 1,
        deliveredAt: null,
        failedAt: null,
      });
      subject.clock.advance(3_600_000);
      expect(await outbox.claim(now(), 10, 'worker-a', 30)).toEqual([]);
      expect(await outbox.stats()).toEqual({ pending: 0, failed: 0, oldestPendingAt: null });
    });

    it('changes where a held delivery goes, only for the worker holding it', async () => {
      const [a] = await enqueued(1);
      expect(await outbox.retarget(a!.id, 'worker-a', 'https://site1.example/new-logout')).toBe(false);
      await outbox.claim(now(), 10, 'worker-a', 30);
      expect(await outbox.retarget(a!.id, 'worker-b', 'https://site1.example/new-logout')).toBe(false);
      expect(await outbox.retarget(a!.id, 'worker-a', 'https://site1.example/new-logout')).toBe(true);
      expect(await outbox.complete(a!.id, 'worker-a', now())).toBe(true);
      expect((await outbox.list({}, { limit: 10 })).items[0]).toMatchObject({ site: 'https://site1.example', uri: 'https://site1.example/new-logout', status: 'delivered' });
    });
  });

  describe('retry', () => {
    it('puts a failed delivery back, due now, keeping its attempt count', async () => {
      const [a, b] = await enqueued(2);
      await outbox.claim(now(), 10, 'worker-a', 30);
      await outbox.fail(a!.id, 'worker-a', now(), 'HTTP 500', null);
      expect(await outbox.retry(b!.id, now())).toBe(false);
      await outbox.complete(b!.id, 'worker-a', now());
      subject.clock.advance(600_000);
      expect(await outbox.retry(a!.id, now())).toBe(true);
      expect(await outbox.retry(a!.id, now())).toBe(false);
      const [retried] = await outbox.claim(now(), 1, 'worker-b', 30);
      expect(retried).toMatchObject({ id: a!.id, status: 'pending', attempts: 2, failedAt: null, lastError: 'HTTP 500' });
    });

    it('puts a dropped delivery back too (its site was configured again)', async () => {
      const [a] = await enqueued(1);
      await outbox.claim(now(), 10, 'worker-a', 30);
      await outbox.drop(a!.id, 'worker-a', now(), 'site not configured');
      subject.clock.advance(60_000);
      expect(await outbox.retry(a!.id, now())).toBe(true);
      const [retried] = await outbox.claim(now(), 1, 'worker-b', 30);
      expect(retried).toMatchObject({ id: a!.id, status: 'pending', attempts: 2, droppedAt: null, lastError: 'site not configured' });
    });
  });

  describe('list', () => {
    it('filters by status and site and pages newest first', async () => {
      const all = await enqueued(7);
      await outbox.claim(now(), 2, 'worker-a', 30);
      await outbox.complete(all[0]!.id, 'worker-a', now());
      await outbox.fail(all[1]!.id, 'worker-a', now(), 'HTTP 500', null);
      await outbox.claim(now(), 1, 'worker-a', 30);
      await outbox.drop(all[2]!.id, 'worker-a', now(), 'site not configured');

      expect(sids((await outbox.list({ status: 'delivered' }, { limit: 10 })).items)).toEqual(['sid-1']);
      expect(sids((await outbox.list({ status: 'failed' }, { limit: 10 })).items)).toEqual(['sid-2']);
      expect(sids((await outbox.list({ status: 'dropped' }, { limit: 10 })).items)).toEqual(['sid-3']);
      expect(sids((await outbox.list({ status: 'pending' }, { limit: 10 })).items)).toEqual(['sid-7', 'sid-6', 'sid-5', 'sid-4']);
      expect(sids((await outbox.list({ site: 'https://site1.example' }, { limit: 10 })).items)).toEqual(['sid-7', 'sid-4', 'sid-1']);
      expect(sids((await outbox.list({ site: 'https://site1.example', status: 'pending' }, { limit: 10 })).items)).toEqual(['sid-7', 'sid-4']);
      expect(sids((await outbox.list({ site: 'https://site0.example', status: 'dropped' }, { limit: 10 })).items)).toEqual(['sid-3']);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await outbox.list({}, { limit: 3, cursor });
        seen.push(...sids(page.items));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== null);
      expect(seen).toEqual(['sid-7', 'sid-6', 'sid-5', 'sid-4', 'sid-3', 'sid-2', 'sid-1']);
      expect(pages).toBe(3);
    });

    it('refuses a cursor it did not make', async () => {
      expect(await codeOf(outbox.list({}, { limit: 3, cursor: 'abc' }))).toBe('ERR_BAD_REQUEST');
      expect(await codeOf(outbox.list({}, { limit: 3, cursor: '-1' }))).toBe('ERR_BAD_REQUEST');
    });
  });

  describe('stats and purge', () => {
    it('counts pending and failed deliveries and finds the oldest pending one', async () => {
      expect(await outbox.stats()).toEqual({ pending: 0, failed: 0, oldestPendingAt: null });
      const [a, b] = await enqueued(2);
      subject.clock.advance(10_000);
      await outbox.enqueue([newDelivery(3)]);
      await outbox.claim(now(), 2, 'worker-a', 30);
      await outbox.fail(a!.id, 'worker-a', now(), 'HTTP 500', null);
      await outbox.complete(b!.id, 'worker-a', now());
      expect(await outbox.stats()).toEqual({ pending: 1, failed: 1, oldestPendingAt: t0 + 10 });
    });

    it('purges delivered deliveries older than the limit only', async () => {
      const [a, b] = await enqueued(3);
      await outbox.claim(now(), 2, 'worker-a', 30);
      await outbox.complete(a!.id, 'worker-a', t0 + 100);
      await outbox.complete(b!.id, 'worker-a', t0 + 200);
      expect(await outbox.purgeDelivered(t0 + 100)).toBe(0);
      expect(await outbox.purgeDelivered(t0 + 101)).toBe(1);
      expect(sids((await outbox.list({}, { limit: 10 })).items)).toEqual(['sid-3', 'sid-2']);
    });

    it('purges dropped deliveries older than the limit with the delivered ones, never failed or pending ones', async () => {
      const [a, b, c] = await enqueued(4);
      await outbox.claim(now(), 3, 'worker-a', 30);
      await outbox.drop(a!.id, 'worker-a', t0 + 100, 'site not configured');
      await outbox.drop(b!.id, 'worker-a', t0 + 200, 'site has no backchannelLogoutUri');
      await outbox.fail(c!.id, 'worker-a', t0 + 50, 'HTTP 400', null);
      expect(await outbox.purgeDelivered(t0 + 100)).toBe(0);
      expect(await outbox.purgeDelivered(t0 + 101)).toBe(1);
      expect(sids((await outbox.list({}, { limit: 10 })).items)).toEqual(['sid-4', 'sid-3', 'sid-2']);
    });
  });

  it('answers ping', async () => {
    await expect(outbox.ping()).resolves.toBeUndefined();
  });
}
