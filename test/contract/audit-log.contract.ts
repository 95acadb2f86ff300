/**
 * The contract every `AuditLog` adapter fulfils (ports.ts). Adapter test files call
 * `describeAuditLogContract` with a function that opens a fresh, empty log.
 */
import type { AuditDetails, AuditEvent, AuditFilter, AuditLog, NewAuditEvent } from '../../src/ports';
import { codeOf, contractStart, type SqlStoreSubject } from './sql-subject';

export interface AuditLogSubject extends SqlStoreSubject {
  log: AuditLog;
}

const t0 = contractStart / 1000;

export function describeAuditLogContract(open: () => Promise<AuditLogSubject>): void {
  let subject: AuditLogSubject;
  let log: AuditLog;

  beforeEach(async () => {
    subject = await open();
    log = subject.log;
  });

  afterEach(async () => {
    await subject.dispose();
  });

  /** Every event matching `filter`, page by page, with the page sizes seen. */
  async function everyPage(filter: AuditFilter, limit: number): Promise<{ ids: number[]; sizes: number[] }> {
    const ids: number[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await log.query(filter, { limit, cursor });
      ids.push(...page.items.map((event) => event.id));
      sizes.push(page.items.length);
      cursor = page.nextCursor;
      // A cursor that does not move on would page forever: fail instead of hanging.
      if (sizes.length > 20) throw new Error(`paging did not end; ids so far: ${ids.join(', ')}`);
    } while (cursor !== null);
    return { ids, sizes };
  }

  describe('append', () => {
    it('stores an event at the clock time with defaults, and returns it as queried', async () => {
      subject.clock.advance(7_000);
      const event = await log.append({ type: 'logout' });
      expect(event).toEqual({
        id: expect.any(Number),
        at: t0 + 7,
        type: 'logout',
        actor: null,
        userId: null,
        sid: null,
        site: null,
        ip: null,
        reason: null,
        details: {},
      });
      expect((await log.query({}, { limit: 10 })).items).toEqual([event]);
    });

    it('keeps every field and flat detail values of each kind', async () => {
      const details: AuditDetails = { kid: 'abc', attempts: 8, ratio: 0.5, final: true, previous: null };
      const full: NewAuditEvent = {
        type: 'handoff.rejected',
        actor: 'system',
        userId: 'user-1',
        sid: 'sid-1',
        site: 'https://www.example.org',
        ip: '203.0.113.9',
        reason: 'ERR_HANDOFF_REPLAYED',
        details,
      };
      const event = await log.append(full);
      expect(event).toEqual({ id: expect.any(Number), at: t0, ...full });
      expect((await log.query({}, { limit: 10 })).items).toEqual([event]);
    });

    it('gives increasing ids, never reused after a purge', async () => {
      const first = await log.append({ type: 'login.success' });
      const second = await log.append({ type: 'login.success' });
      expect(second.id).toBeGreaterThan(first.id);
      subject.clock.advance(10_000);
      expect(await log.purgeOlderThan(t0 + 10)).toBe(2);
      const third = await log.append({ type: 'login.success' });
      expect(third.id).toBeGreaterThan(second.id);
    });

    it('refuses an unknown type with ERR_BAD_REQUEST', async () => {
      expect(await codeOf(log.append({ type: 'login.maybe' as NewAuditEvent['type'] }))).toBe('ERR_BAD_REQUEST');
      expect(await subject.rows()).toEqual([]);
    });
  });

  describe('no secrets, small flat details', () => {
    const secretKeys = ['token', 'logout_token', 'accessToken', 'client_secret', 'SECRET', 'password', 'newPassword', 'cookie', 'Set-Cookie', 'authorization', 'Proxy-Authorization'];

    it.each(secretKeys)('refuses a detail named %s and stores nothing', async (key) => {
      expect(await codeOf(log.append({ type: 'admin.action', details: { action: 'x', [key]: 'value' } }))).toBe('ERR_BAD_REQUEST');
      expect(await subject.rows()).toEqual([]);
      expect((await log.query({}, { limit: 10 })).items).toEqual([]);
    });

    it('refuses nested values, arrays, non-finite numbers and non-objects', async () => {
      const bad: unknown[] = [{ user: { id: 'u' } }, { sites: ['a', 'b'] }, { ratio: Number.NaN }, { ratio: Infinity }, { when: new Date(0) }, ['a'], 'text', null];
      for (const details of bad) {
        expect([details, await codeOf(log.append({ type: 'admin.action', details: details as AuditDetails }))]).toEqual([details, 'ERR_BAD_REQUEST']);
      }
      expect(await subject.rows()).toEqual([]);
    });

    it('accepts details up to 2 KiB of JSON and refuses one byte more, counting bytes', async () => {
      // {"note":"…"} is the value plus 11 bytes.
      await log.append({ type: 'admin.action', details: { note: 'x'.repeat(2048 - 11) } });
      expect(await codeOf(log.append({ type: 'admin.action', details: { note: 'x'.repeat(2048 - 10) } }))).toBe('ERR_BAD_REQUEST');
      // 1019 two-byte characters: 2038 bytes of value, though only 1019 characters.
      expect(await codeOf(log.append({ type: 'admin.action', details: { note: 'é'.repeat(1019) } }))).toBe('ERR_BAD_REQUEST');
      expect(await subject.rows()).toHaveLength(1);
    });
  });

  describe('query', () => {
    let events: AuditEvent[];

    beforeEach(async () => {
      // One event a second, so `at` ranges pick exact events.
      const script: NewAuditEvent[] = [
        { type: 'login.success', actor: 'user-a', userId: 'user-a', sid: 'sid-1', ip: '198.51.100.1' },
        { type: 'handoff.accepted', actor: 'user-a', userId: 'user-a', sid: 'sid-1', site: 'https://blog.example.org' },
        { type: 'login.failure', userId: 'user-b', ip: '198.51.100.2', reason: 'ERR_LOGIN_FAILED' },
        { type: 'handoff.rejected', sid: 'sid-2', site: 'https://shop.example.net', reason: 'ERR_HANDOFF_REPLAYED' },
        { type: 'session.revoked', actor: 'cli', userId: 'user-a', sid: 'sid-1', reason: 'admin' },
        { type: 'login.success', actor: 'user-b', userId: 'user-b', sid: 'sid-3' },
        { type: 'handoff.accepted', actor: 'user-b', userId: 'user-b', sid: 'sid-3', site: 'https://blog.example.org' },
      ];
      events = [];
      for (const event of script) {
        events.push(await log.append(event));
        subject.clock.advance(1_000);
      }
    });

    /** Ids of the events at these positions of the script, newest first. */
    const ids = (...positions: number[]): number[] => positions.map((position) => events[position]!.id).sort((a, b) => b - a);

    it('lists newest first', async () => {
      const page = await log.query({}, { limit: 100 });
      expect(page.items).toEqual([...events].reverse());
      expect(page.nextCursor).toBeNull();
    });

    it.each<[string, AuditFilter, number[]]>([
      ['one type', { type: 'login.success' }, [0, 5]],
      ['a list of types', { type: ['login.failure', 'handoff.rejected'] }, [2, 3]],
      ['an empty list of types', { type: [] }, []],
      ['userId', { userId: 'user-a' }, [0, 1, 4]],
      ['sid', { sid: 'sid-1' }, [0, 1, 4]],
      ['site', { site: 'https://blog.example.org' }, [1, 6]],
      ['actor', { actor: 'cli' }, [4]],
      ['from (inclusive)', { from: t0 + 5 }, [5, 6]],
      ['to (inclusive)', { to: t0 + 1 }, [0, 1]],
      ['from and to', { from: t0 + 2, to: t0 + 3 }, [2, 3]],
      ['several filters with AND', { type: 'handoff.accepted', userId: 'user-b', site: 'https://blog.example.org' }, [6]],
      ['a value nobody has', { actor: 'nobody' }, []],
    ])('filters by %s', async (_name, filter, positions) => {
      const page = await log.query(filter, { limit: 100 });
      expect(page.items.map((event) => event.id)).toEqual(ids(...positions));
      expect(page.nextCursor).toBeNull();
    });

    it('pages through every event once, newest first, without an empty last page', async () => {
      const pages = await everyPage({}, 2);
      expect(pages.ids).toEqual(ids(0, 1, 2, 3, 4, 5, 6));
      expect(pages.sizes).toEqual([2, 2, 2, 1]);
      const exact = await everyPage({ userId: 'user-b' }, 3);
      expect(exact.ids).toEqual(ids(2, 5, 6));
      expect(exact.sizes).toEqual([3]);
    });

    it('pages within a filter', async () => {
      const pages = await everyPage({ userId: 'user-a' }, 1);
      expect(pages.ids).toEqual(ids(0, 1, 4));
      expect(pages.sizes).toEqual([1, 1, 1]);
    });

    it('neither repeats nor skips an event when new ones are appended between pages', async () => {
      const first = await log.query({}, { limit: 3 });
      await log.append({ type: 'logout', userId: 'user-a' });
      const second = await log.query({}, { limit: 3, cursor: first.nextCursor });
      const third = await log.query({}, { limit: 3, cursor: second.nextCursor });
      expect([...first.items, ...second.items, ...third.items].map((event) => event.id)).toEqual(ids(0, 1, 2, 3, 4, 5, 6));
      expect(third.nextCursor).toBeNull();
    });

    it('refuses a bad limit, cursor or time with ERR_BAD_REQUEST', async () => {
      expect(await codeOf(log.query({}, { limit: 0 }))).toBe('ERR_BAD_REQUEST');
      expect(await codeOf(log.query({}, { limit: 2.5 }))).toBe('ERR_BAD_REQUEST');
      for (const cursor of ['***', 'MA', Buffer.from('-3').toString('base64url'), Buffer.from('1.5').toString('base64url')]) {
        expect([cursor, await codeOf(log.query({}, { limit: 2, cursor }))]).toEqual([cursor, 'ERR_BAD_REQUEST']);
      }
      expect(await codeOf(log.query({ from: 1.5 }, { limit: 2 }))).toBe('ERR_BAD_REQUEST');
    });
  });

  describe('purgeOlderThan', () => {
    it('removes exactly the events before the given time', async () => {
      const kept: AuditEvent[] = [];
      await log.append({ type: 'login.success' });
      subject.clock.advance(10_000);
      await log.append({ type: 'login.success' });
      subject.clock.advance(10_000);
      kept.push(await log.append({ type: 'logout' }));
      subject.clock.advance(10_000);
      kept.push(await log.append({ type: 'logout' }));

      expect(await log.purgeOlderThan(t0 + 20)).toBe(2);
      expect(await log.purgeOlderThan(t0 + 20)).toBe(0);
      expect((await log.query({}, { limit: 10 })).items).toEqual(kept.reverse());
      expect(await subject.rows()).toHaveLength(2);
    });

    it('refuses a time that is not whole seconds with ERR_BAD_REQUEST', async () => {
      expect(await codeOf(log.purgeOlderThan(Number.NaN))).toBe('ERR_BAD_REQUEST');
    });
  });

  it('answers ping', async () => {
    await expect(log.ping()).resolves.toBeUndefined();
  });

  it('rejects every call with ERR_STORE_UNAVAILABLE once the store is gone', async () => {
    await subject.sever();
    expect(await codeOf(log.ping())).toBe('ERR_STORE_UNAVAILABLE');
    expect(await codeOf(log.append({ type: 'logout' }))).toBe('ERR_STORE_UNAVAILABLE');
    expect(await codeOf(log.query({ type: ['logout'] }, { limit: 10 }))).toBe('ERR_STORE_UNAVAILABLE');
    expect(await codeOf(log.purgeOlderThan(t0))).toBe('ERR_STORE_UNAVAILABLE');
  });
}
