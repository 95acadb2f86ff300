/**
 * The SessionStore contract (src/ports.ts), run against every adapter by test/stores/*.test.ts.
 * Each test gets a fresh, empty store. Time comes only from the fixture's FrozenClock: a store
 * must judge expiry by it, whatever its server's clock says.
 */
import { nowSeconds, type FrozenClock } from '../../src/core/clock';
import type { Page, ReplayStore, SessionFilter, SessionRecord, SessionStore, SiteLink } from '../../src/ports';

export interface SessionStoreFixture {
  store: SessionStore;
  /** A replay store over the same data: both jti paths must agree. */
  replay: ReplayStore;
  clock: FrozenClock;
  /** Closes the store and opens a new one on the same data (adapters that persist). */
  reopen?: () => Promise<SessionStore>;
  /** Closes whatever is open and removes the test's data. */
  cleanup: () => Promise<void>;
}

export interface SessionContractOptions {
  /** The adapter keeps its data across close and reopen; the fixture then has `reopen`. */
  persistent?: boolean;
}

const idleSeconds = 1800;
const absoluteSeconds = 12 * 3600;

/** A session created at `now` with default timeouts; `overrides` win. */
export function makeSession(now: number, overrides: Partial<SessionRecord> & { sid: string }): SessionRecord {
  return {
    v: 1,
    secretHash: 'a3'.repeat(32),
    userId: 'user-1',
    data: {},
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: now + idleSeconds,
    absoluteExpiresAt: now + absoluteSeconds,
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
    persistent: false,
    sites: [],
    ...overrides,
  };
}

export function makeLink(site: string, linkedAt: number, overrides: Partial<SiteLink> = {}): SiteLink {
  return { site, linkedAt, src: 'login.example.com', secretHash: null, projectionKey: null, ...overrides };
}

const siteA = 'https://www.example.org';
const siteB = 'https://shop.example.net';
const siteC = 'https://app.example.com';

/** Every adapter returns a session's links ordered by site origin. */
function bySite(a: SiteLink, b: SiteLink): number {
  return a.site < b.site ? -1 : a.site > b.site ? 1 : 0;
}

function sids(records: SessionRecord[]): string[] {
  return records.map((record) => record.sid);
}

export function sessionStoreContract(name: string, factory: () => Promise<SessionStoreFixture>, options: SessionContractOptions = {}): void {
  describe(`SessionStore contract: ${name}`, () => {
    let fixture: SessionStoreFixture;
    let store: SessionStore;
    let clock: FrozenClock;
    /** The frozen clock's second when the test started. */
    let t0: number;

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
      clock = fixture.clock;
      t0 = nowSeconds(clock);
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    /** Moves the frozen clock to `second` (Unix seconds). */
    const at = (second: number): void => clock.set(second * 1000);

    describe('create and get', () => {
      it('returns the stored session with every field', async () => {
        const record = makeSession(t0, {
          sid: 'sid-full',
          data: { basket: [1, 2, { sku: 'X-1', qty: 3 }], note: 'grüße ✓', big: 9007199254740991, empty: [], nested: { deep: { ok: true } } },
          persistent: true,
        });
        await store.create(record);
        expect(await store.get('sid-full')).toEqual(record);
      });

      it('keeps null user, address and user agent as null', async () => {
        const record = makeSession(t0, { sid: 'sid-anon', userId: null, ip: null, userAgent: null, data: { basket: ['sku-1'] } });
        await store.create(record);
        expect(await store.get('sid-anon')).toEqual(record);
      });

      it('returns null for a sid it never stored', async () => {
        expect(await store.get('sid-missing')).toBeNull();
      });

      it('refuses a second session with the same sid (ERR_STORE_CONFLICT) and keeps the first', async () => {
        await store.create(makeSession(t0, { sid: 'sid-dup', secretHash: '11'.repeat(32) }));
        await expect(store.create(makeSession(t0, { sid: 'sid-dup', secretHash: '22'.repeat(32), userId: 'user-2' }))).rejects.toMatchObject({
          code: 'ERR_STORE_CONFLICT',
        });
        const stored = await store.get('sid-dup');
        expect(stored?.secretHash).toBe('11'.repeat(32));
        expect(stored?.userId).toBe('user-1');
        expect(sids(await store.listByUser('user-2'))).toEqual([]);
      });

      it('ignores record.sites: links come only from linkSite and acceptHandoff', async () => {
        await store.create(makeSession(t0, { sid: 'sid-sites', sites: [makeLink(siteA, t0)] }));
        expect((await store.get('sid-sites'))?.sites).toEqual([]);
      });
    });

    describe('expiry by the injected clock', () => {
      it('touch slides the idle expiry and records lastSeenAt', async () => {
        await store.create(makeSession(t0, { sid: 'sid-touch' }));
        at(t0 + 1000);
        expect(await store.touch('sid-touch', t0 + 1000, t0 + 1000 + idleSeconds)).toBe(true);
        const touched = await store.get('sid-touch');
        expect(touched?.lastSeenAt).toBe(t0 + 1000);
        expect(touched?.idleExpiresAt).toBe(t0 + 1000 + idleSeconds);
        at(t0 + idleSeconds + 100); // past the idle expiry it had before the touch
        expect((await store.get('sid-touch'))?.sid).toBe('sid-touch');
      });

      it('treats a session as gone from its idle expiry on', async () => {
        await store.create(makeSession(t0, { sid: 'sid-idle' }));
        at(t0 + idleSeconds - 1);
        expect((await store.get('sid-idle'))?.sid).toBe('sid-idle');
        at(t0 + idleSeconds);
        expect(await store.get('sid-idle')).toBeNull();
        expect(await store.touch('sid-idle', t0 + idleSeconds, t0 + 2 * idleSeconds)).toBe(false);
        expect(await store.setData('sid-idle', { x: 1 })).toBe(false);
        expect(await store.linkSite('sid-idle', makeLink(siteA, t0 + idleSeconds))).toBe(false);
        expect(await store.acceptHandoff('jti-idle', t0 + idleSeconds + 60, 'sid-idle', makeLink(siteA, t0 + idleSeconds))).toBe('unknown-session');
        expect(await store.listByUser('user-1')).toEqual([]);
        expect((await store.list({}, { limit: 10 })).items).toEqual([]);
        expect(await store.revoke('sid-idle')).toBeNull();
        // A touch cannot bring it back either: the session stays gone.
        at(t0 + idleSeconds - 1);
        expect(await store.get('sid-idle')).toBeNull();
      });

      it('ends a session at its absolute expiry however often it is touched', async () => {
        await store.create(makeSession(t0, { sid: 'sid-abs', absoluteExpiresAt: t0 + 3600 }));
        for (const second of [t0 + 1200, t0 + 2400, t0 + 3500]) {
          at(second);
          // An uncapped idle expiry (a caller's mistake) must not stretch the absolute limit.
          expect(await store.touch('sid-abs', second, second + idleSeconds)).toBe(true);
        }
        at(t0 + 3599);
        expect((await store.get('sid-abs'))?.idleExpiresAt).toBe(t0 + 3500 + idleSeconds);
        at(t0 + 3600);
        expect(await store.get('sid-abs')).toBeNull();
        expect(await store.touch('sid-abs', t0 + 3600, t0 + 3600 + idleSeconds)).toBe(false);
      });
    });

    describe('setData', () => {
      it('replaces the data as a whole', async () => {
        await store.create(makeSession(t0, { sid: 'sid-data', data: { a: 1, b: 2 } }));
        expect(await store.setData('sid-data', { c: [3, { d: null }] })).toBe(true);
        expect((await store.get('sid-data'))?.data).toEqual({ c: [3, { d: null }] });
      });

      it('is false for a session it does not hold', async () => {
        expect(await store.setData('sid-missing', { a: 1 })).toBe(false);
        expect(await store.get('sid-missing')).toBeNull();
      });
    });

    describe('rotate', () => {
      it('ends the old session with its links and stores the new one without them', async () => {
        await store.create(makeSession(t0, { sid: 'sid-old', data: { basket: ['x'] } }));
        expect(await store.linkSite('sid-old', makeLink(siteA, t0))).toBe(true);
        at(t0 + 10);
        const next = makeSession(t0 + 10, { sid: 'sid-new', secretHash: 'bb'.repeat(32), data: { basket: ['x'] }, sites: [makeLink(siteA, t0)] });
        expect(await store.rotate('sid-old', next)).toBe(true);
        expect(await store.get('sid-old')).toBeNull();
        expect(await store.revoke('sid-old')).toBeNull();
        expect(await store.get('sid-new')).toEqual({ ...next, sites: [] });
        expect(sids(await store.listByUser('user-1'))).toEqual(['sid-new']);
        expect(sids((await store.list({ site: siteA }, { limit: 10 })).items)).toEqual([]);
      });

      it('is false and stores nothing when the old session is missing or expired', async () => {
        expect(await store.rotate('sid-missing', makeSession(t0, { sid: 'sid-next-1' }))).toBe(false);
        expect(await store.get('sid-next-1')).toBeNull();

        await store.create(makeSession(t0, { sid: 'sid-stale', idleExpiresAt: t0 + 60 }));
        at(t0 + 60);
        expect(await store.rotate('sid-stale', makeSession(t0 + 60, { sid: 'sid-next-2' }))).toBe(false);
        expect(await store.get('sid-next-2')).toBeNull();
        expect(await store.listByUser('user-1')).toEqual([]);
      });

      it('lets exactly one of two concurrent rotations of a session win', async () => {
        await store.create(makeSession(t0, { sid: 'sid-race' }));
        const results = await Promise.all([
          store.rotate('sid-race', makeSession(t0, { sid: 'sid-race-a' })),
          store.rotate('sid-race', makeSession(t0, { sid: 'sid-race-b' })),
        ]);
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results[0] === true ? 'sid-race-a' : 'sid-race-b';
        expect(sids(await store.listByUser('user-1'))).toEqual([winner]);
      });
    });

    describe('revoke', () => {
      it('removes the session and returns it with its links', async () => {
        const record = makeSession(t0, { sid: 'sid-revoke' });
        await store.create(record);
        const linkB = makeLink(siteB, t0 + 1, { secretHash: 'cc'.repeat(32), projectionKey: 'PHPREDIS_SESSION:abc' });
        const linkA = makeLink(siteA, t0 + 2);
        await store.linkSite('sid-revoke', linkB);
        await store.linkSite('sid-revoke', linkA);
        expect(await store.revoke('sid-revoke')).toEqual({ ...record, sites: [linkA, linkB].sort(bySite) });
        expect(await store.get('sid-revoke')).toBeNull();
        expect(await store.revoke('sid-revoke')).toBeNull();
        expect(await store.listByUser('user-1')).toEqual([]);
      });

      it('returns null for a session it does not hold', async () => {
        expect(await store.revoke('sid-missing')).toBeNull();
      });
    });

    describe('revokeUser', () => {
      it("ends every live session of the user, returns them newest first, and leaves others' alone", async () => {
        await store.create(makeSession(t0 - 30, { sid: 'sid-u1-old' }));
        await store.create(makeSession(t0 - 20, { sid: 'sid-u1-mid' }));
        await store.create(makeSession(t0 - 10, { sid: 'sid-u1-new' }));
        await store.create(makeSession(t0 - 40, { sid: 'sid-u1-expired', idleExpiresAt: t0 + 5 }));
        await store.create(makeSession(t0, { sid: 'sid-u2', userId: 'user-2' }));
        await store.create(makeSession(t0, { sid: 'sid-anon', userId: null }));
        await store.linkSite('sid-u1-mid', makeLink(siteA, t0));
        at(t0 + 5);

        const revoked = await store.revokeUser('user-1');
        expect(sids(revoked)).toEqual(['sid-u1-new', 'sid-u1-mid', 'sid-u1-old']);
        expect(revoked[1]?.sites).toEqual([makeLink(siteA, t0)]);
        expect(await store.listByUser('user-1')).toEqual([]);
        for (const sid of ['sid-u1-old', 'sid-u1-mid', 'sid-u1-new']) expect(await store.get(sid)).toBeNull();
        expect((await store.get('sid-u2'))?.userId).toBe('user-2');
        expect((await store.get('sid-anon'))?.userId).toBeNull();
        expect(await store.revokeUser('user-1')).toEqual([]);
      });
    });

    describe('listByUser', () => {
      it("lists the user's live sessions newest first, ties by sid descending", async () => {
        await store.create(makeSession(t0 - 300, { sid: 'sid-1' }));
        await store.create(makeSession(t0 - 100, { sid: 'sid-2' }));
        await store.create(makeSession(t0 - 100, { sid: 'sid-3' }));
        await store.create(makeSession(t0 - 50, { sid: 'sid-other', userId: 'user-2' }));
        await store.create(makeSession(t0 - 10, { sid: 'sid-expiring', idleExpiresAt: t0 + 1 }));
        await store.create(makeSession(t0 - 5, { sid: 'sid-revoked' }));
        await store.revoke('sid-revoked');
        at(t0 + 1);
        expect(sids(await store.listByUser('user-1'))).toEqual(['sid-3', 'sid-2', 'sid-1']);
        expect(sids(await store.listByUser('user-2'))).toEqual(['sid-other']);
        expect(await store.listByUser('user-nobody')).toEqual([]);
      });

      it('lists the same with a record of the user the caller just read (the current session)', async () => {
        await store.create(makeSession(t0 - 300, { sid: 'sid-1' }));
        await store.create(makeSession(t0 - 100, { sid: 'sid-2' }));
        await store.linkSite('sid-2', makeLink('https://www.example.org', t0 - 50));
        const current = (await store.get('sid-2'))!;
        expect(await store.listByUser('user-1', current)).toEqual(await store.listByUser('user-1'));
      });
    });

    describe('list', () => {
      const ipOdd = '198.51.100.1';
      const ipEven = '198.51.100.2';
      let seeds: SessionRecord[];

      /** 18 live sessions in groups of three created in the same second, and one expired. */
      async function seed(): Promise<void> {
        seeds = [];
        for (let i = 0; i < 18; i += 1) {
          const createdAt = t0 - 1000 + Math.floor(i / 3) * 100;
          const record = makeSession(createdAt, {
            sid: `sid-${String(i).padStart(2, '0')}`,
            userId: ['user-1', 'user-2', null][i % 3] ?? null,
            ip: i % 2 === 1 ? ipOdd : ipEven,
            lastSeenAt: createdAt + (i % 4) * 10,
          });
          await store.create(record);
          const sites: SiteLink[] = [];
          if (i % 4 === 0) sites.push(makeLink(siteA, createdAt));
          if (i % 5 === 0) sites.push(makeLink(siteB, createdAt));
          for (const link of sites) expect(await store.linkSite(record.sid, link)).toBe(true);
          seeds.push({ ...record, sites: sites.sort(bySite) });
        }
        await store.create(makeSession(t0 - 500, { sid: 'sid-expired', ip: ipOdd, idleExpiresAt: t0 + 1 }));
        await store.linkSite('sid-expired', makeLink(siteA, t0));
        at(t0 + 1);
      }

      /** Every page of a listing, checking the page contract on the way. */
      async function allPages(filter: SessionFilter, limit: number): Promise<SessionRecord[][]> {
        const pages: SessionRecord[][] = [];
        let cursor: string | null = null;
        do {
          const page: Page<SessionRecord> = await store.list(filter, { limit, cursor });
          expect(page.items.length).toBeLessThanOrEqual(limit);
          if (page.nextCursor !== null) expect(page.items).toHaveLength(limit);
          pages.push(page.items);
          cursor = page.nextCursor;
        } while (cursor !== null && pages.length < 100);
        expect(cursor).toBeNull();
        return pages;
      }

      const expected = (predicate: (record: SessionRecord) => boolean): string[] =>
        seeds
          .filter(predicate)
          .sort((a, b) => b.createdAt - a.createdAt || (a.sid < b.sid ? 1 : -1))
          .map((record) => record.sid);

      /** Each case: a filter and the predicate it means, given the test's start second. */
      const cases: [string, (t0: number) => [SessionFilter, (record: SessionRecord) => boolean]][] = [
        ['no filter', () => [{}, () => true]],
        ['userId', () => [{ userId: 'user-1' }, (r) => r.userId === 'user-1']],
        ['site', () => [{ site: siteA }, (r) => r.sites.some((l) => l.site === siteA)]],
        ['ip', () => [{ ip: ipOdd }, (r) => r.ip === ipOdd]],
        ['createdFrom (inclusive)', (t0) => [{ createdFrom: t0 - 800 }, (r) => r.createdAt >= t0 - 800]],
        ['createdTo (inclusive)', (t0) => [{ createdTo: t0 - 500 }, (r) => r.createdAt <= t0 - 500]],
        ['createdFrom and createdTo', (t0) => [{ createdFrom: t0 - 800, createdTo: t0 - 500 }, (r) => r.createdAt >= t0 - 800 && r.createdAt <= t0 - 500]],
        ['lastSeenFrom (inclusive)', (t0) => [{ lastSeenFrom: t0 - 780 }, (r) => r.lastSeenAt >= t0 - 780]],
        ['lastSeenTo (inclusive)', (t0) => [{ lastSeenTo: t0 - 480 }, (r) => r.lastSeenAt <= t0 - 480]],
        ['userId and createdTo', (t0) => [{ userId: 'user-1', createdTo: t0 - 600 }, (r) => r.userId === 'user-1' && r.createdAt <= t0 - 600]],
        ['userId and site', () => [{ userId: 'user-2', site: siteB }, (r) => r.userId === 'user-2' && r.sites.some((l) => l.site === siteB)]],
        ['a user with no sessions', () => [{ userId: 'user-nobody' }, () => false]],
      ];

      it.each(cases)('filters by %s, newest first, pages without duplicates or gaps', async (_label, filterAt) => {
        await seed();
        const [filter, predicate] = filterAt(t0);
        const want = expected(predicate);
        for (const limit of [1, 4, 500]) {
          const pages = await allPages(filter, limit);
          expect(pages.flat().map((record) => record.sid)).toEqual(want);
          expect(pages).toHaveLength(Math.max(1, Math.ceil(want.length / limit)));
        }
        const firstPage = (await store.list(filter, { limit: 500 })).items;
        expect(firstPage).toEqual(seeds.filter((record) => want.includes(record.sid)).sort((a, b) => want.indexOf(a.sid) - want.indexOf(b.sid)));
      });

      it('continues after the cursor when sessions come and go between pages', async () => {
        await seed();
        const all = expected(() => true);
        const first = await store.list({}, { limit: 5 });
        expect(sids(first.items)).toEqual(all.slice(0, 5));
        await store.revoke(all[2] as string); // already listed
        await store.revoke(all[7] as string); // not yet listed
        await store.create(makeSession(t0 + 1, { sid: 'sid-newest' })); // before the cursor
        const rest: string[] = [];
        let cursor = first.nextCursor;
        while (cursor !== null) {
          const page = await store.list({}, { limit: 5, cursor });
          rest.push(...sids(page.items));
          cursor = page.nextCursor;
        }
        expect(rest).toEqual(all.slice(5).filter((sid) => sid !== all[7]));
      });

      it('returns at most 500 sessions a page', async () => {
        const records = Array.from({ length: 502 }, (_, i) => makeSession(t0 - i, { sid: `sid-many-${String(i).padStart(3, '0')}` }));
        await Promise.all(records.map((record) => store.create(record)));
        const first = await store.list({}, { limit: 10_000 });
        expect(first.items).toHaveLength(500);
        expect(first.nextCursor).not.toBeNull();
        const second = await store.list({}, { limit: 10_000, cursor: first.nextCursor });
        expect(sids(second.items)).toEqual(['sid-many-500', 'sid-many-501']);
        expect(second.nextCursor).toBeNull();
      });

      it('rejects a cursor it did not make with ERR_BAD_REQUEST', async () => {
        await expect(store.list({}, { limit: 10, cursor: 'not-a-cursor' })).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });
      });
    });

    describe('linkSite', () => {
      it("records links and replaces a site's earlier link", async () => {
        await store.create(makeSession(t0, { sid: 'sid-link' }));
        expect(await store.linkSite('sid-link', makeLink(siteC, t0))).toBe(true);
        expect(await store.linkSite('sid-link', makeLink(siteA, t0))).toBe(true);
        const replacement = makeLink(siteC, t0 + 60, { src: 'www.example.org', secretHash: 'dd'.repeat(32), projectionKey: 'PHPREDIS_SESSION:xyz' });
        expect(await store.linkSite('sid-link', replacement)).toBe(true);
        expect((await store.get('sid-link'))?.sites).toEqual([makeLink(siteA, t0), replacement].sort(bySite));
      });

      it('is false for a session it does not hold', async () => {
        expect(await store.linkSite('sid-missing', makeLink(siteA, t0))).toBe(false);
      });
    });

    describe('acceptHandoff', () => {
      it('accepted: spends the jti and writes the link', async () => {
        await store.create(makeSession(t0, { sid: 'sid-accept' }));
        const link = makeLink(siteA, t0, { secretHash: 'ee'.repeat(32) });
        expect(await store.acceptHandoff('jti-1', t0 + 60, 'sid-accept', link)).toBe('accepted');
        expect((await store.get('sid-accept'))?.sites).toEqual([link]);
      });

      it('replayed: a spent jti changes nothing', async () => {
        await store.create(makeSession(t0, { sid: 'sid-accept' }));
        expect(await store.acceptHandoff('jti-1', t0 + 60, 'sid-accept', makeLink(siteA, t0))).toBe('accepted');
        at(t0 + 5);
        expect(await store.acceptHandoff('jti-1', t0 + 60, 'sid-accept', makeLink(siteB, t0 + 5))).toBe('replayed');
        expect(await store.acceptHandoff('jti-1', t0 + 60, 'sid-accept', makeLink(siteA, t0 + 5, { src: 'evil.example' }))).toBe('replayed');
        expect((await store.get('sid-accept'))?.sites).toEqual([makeLink(siteA, t0)]);
      });

      it('unknown-session: spends the jti but writes no link', async () => {
        expect(await store.acceptHandoff('jti-2', t0 + 60, 'sid-late', makeLink(siteA, t0))).toBe('unknown-session');
        await store.create(makeSession(t0, { sid: 'sid-late' }));
        expect(await store.acceptHandoff('jti-2', t0 + 60, 'sid-late', makeLink(siteA, t0))).toBe('replayed');
        expect((await store.get('sid-late'))?.sites).toEqual([]);
      });

      it('unknown-session for a revoked session', async () => {
        await store.create(makeSession(t0, { sid: 'sid-gone' }));
        await store.revoke('sid-gone');
        expect(await store.acceptHandoff('jti-3', t0 + 60, 'sid-gone', makeLink(siteA, t0))).toBe('unknown-session');
      });

      it('of 200 concurrent accepts of one token, exactly one is accepted', async () => {
        await store.create(makeSession(t0, { sid: 'sid-burst' }));
        const outcomes = await Promise.all(
          Array.from({ length: 200 }, (_, i) => store.acceptHandoff('jti-burst', t0 + 60, 'sid-burst', makeLink(`https://site-${i}.example`, t0))),
        );
        expect(outcomes.filter((outcome) => outcome === 'accepted')).toHaveLength(1);
        expect(outcomes.filter((outcome) => outcome === 'replayed')).toHaveLength(199);
        expect((await store.get('sid-burst'))?.sites).toHaveLength(1);
      });

      it('a jti spent by rememberOnce (with its sid) is a replay here', async () => {
        await store.create(makeSession(t0, { sid: 'sid-shared' }));
        expect(await fixture.replay.rememberOnce('jti-shared-1', t0 + 60, 'sid-shared')).toBe(true);
        expect(await store.acceptHandoff('jti-shared-1', t0 + 60, 'sid-shared', makeLink(siteA, t0))).toBe('replayed');
        expect((await store.get('sid-shared'))?.sites).toEqual([]);
      });

      it('a jti spent here is a replay for rememberOnce (with its sid)', async () => {
        await store.create(makeSession(t0, { sid: 'sid-shared' }));
        expect(await store.acceptHandoff('jti-shared-2', t0 + 60, 'sid-shared', makeLink(siteA, t0))).toBe('accepted');
        expect(await fixture.replay.rememberOnce('jti-shared-2', t0 + 60, 'sid-shared')).toBe(false);
        expect(await store.acceptHandoff('jti-shared-3', t0 + 60, 'sid-missing', makeLink(siteA, t0))).toBe('unknown-session');
        expect(await fixture.replay.rememberOnce('jti-shared-3', t0 + 60, 'sid-missing')).toBe(false);
      });
    });

    describe('purgeExpired', () => {
      it('removes expired sessions, keeps live ones, and counts what it removed', async () => {
        await store.create(makeSession(t0, { sid: 'sid-idle-out', idleExpiresAt: t0 + 10 }));
        await store.create(makeSession(t0, { sid: 'sid-abs-out', userId: 'user-2', absoluteExpiresAt: t0 + 20 }));
        await store.create(makeSession(t0, { sid: 'sid-live' }));
        await store.linkSite('sid-idle-out', makeLink(siteA, t0));
        await store.linkSite('sid-live', makeLink(siteA, t0));
        at(t0 + 20);
        expect(await store.purgeExpired()).toBe(2);
        expect(await store.purgeExpired()).toBe(0);
        expect((await store.get('sid-live'))?.sites).toEqual([makeLink(siteA, t0)]);
        expect(sids((await store.list({}, { limit: 10 })).items)).toEqual(['sid-live']);
      });
    });

    describe('health', () => {
      it('answers ping', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });

    (options.persistent === true ? describe : describe.skip)('persistence', () => {
      it('keeps sessions, links and spent jtis across closing and reopening', async () => {
        const record = makeSession(t0, { sid: 'sid-durable', data: { basket: ['a', 'b'] } });
        await store.create(record);
        const link = makeLink(siteA, t0, { projectionKey: 'PHPREDIS_SESSION:1' });
        expect(await store.acceptHandoff('jti-durable', t0 + 60, 'sid-durable', link)).toBe('accepted');
        await store.touch('sid-durable', t0 + 5, t0 + 5 + idleSeconds);

        if (fixture.reopen === undefined) throw new Error('a persistent adapter needs reopen()');
        store = await fixture.reopen();
        expect(await store.get('sid-durable')).toEqual({ ...record, lastSeenAt: t0 + 5, idleExpiresAt: t0 + 5 + idleSeconds, sites: [link] });
        expect(await store.acceptHandoff('jti-durable', t0 + 60, 'sid-durable', makeLink(siteB, t0))).toBe('replayed');
        expect(sids(await store.listByUser('user-1'))).toEqual(['sid-durable']);
      });
    });
  });
}
