/**
 * The contract every `AdminTokenStore` adapter fulfils (ports.ts). Adapter test files call
 * `describeAdminTokenStoreContract` with a function that opens a fresh, empty store.
 */
import { createHash } from 'node:crypto';
import { nowSeconds } from '../../src/core/clock';
import { ADMIN_SCOPES, type AdminTokenStore, type NewAdminToken } from '../../src/ports';
import { codeOf, contractStart, type SqlStoreSubject } from './sql-subject';

export interface AdminTokenStoreSubject extends SqlStoreSubject {
  store: AdminTokenStore;
}

const t0 = contractStart / 1000;

const monitoring: NewAdminToken = { name: 'monitoring', scopes: ['sessions:read', 'audit:read'], createdBy: 'cli', expiresAt: null };

export function describeAdminTokenStoreContract(open: () => Promise<AdminTokenStoreSubject>): void {
  let subject: AdminTokenStoreSubject;
  let store: AdminTokenStore;
  const now = (): number => nowSeconds(subject.clock);

  beforeEach(async () => {
    subject = await open();
    store = subject.store;
  });

  afterEach(async () => {
    await subject.dispose();
  });

  describe('create', () => {
    it('returns a tsa_ token of 256 random bits and the record', async () => {
      const { token, record } = await store.create(monitoring);
      expect(token).toMatch(/^tsa_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
      expect(record).toEqual({
        id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        name: 'monitoring',
        scopes: ['sessions:read', 'audit:read'],
        createdBy: 'cli',
        createdAt: t0,
        expiresAt: null,
        lastUsedAt: null,
        revokedAt: null,
      });
    });

    it('stores the SHA-256 of the token and never the token', async () => {
      const { token, record } = await store.create(monitoring);
      const rows = await subject.rows();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ id: record.id, token_hash: createHash('sha256').update(token).digest('hex') });
      const stored = JSON.stringify(rows);
      expect(stored).not.toContain(token);
      expect(stored).not.toContain(token.slice(4));
    });

    it('gives every token its own value and id', async () => {
      const a = await store.create(monitoring);
      const b = await store.create(monitoring);
      expect(a.token).not.toBe(b.token);
      expect(a.record.id).not.toBe(b.record.id);
    });

    it('round-trips every scope, dropping duplicates and keeping the order', async () => {
      const all = await store.create({ ...monitoring, scopes: [...ADMIN_SCOPES].reverse() });
      expect(all.record.scopes).toEqual([...ADMIN_SCOPES].reverse());
      const twice = await store.create({ ...monitoring, scopes: ['outbox:retry', 'keys:read', 'outbox:retry'] });
      expect(twice.record.scopes).toEqual(['outbox:retry', 'keys:read']);
      expect((await store.authenticate(all.token, now()))?.scopes).toEqual([...ADMIN_SCOPES].reverse());
      expect((await store.list()).map((record) => record.scopes)).toEqual(expect.arrayContaining([[...ADMIN_SCOPES].reverse(), ['outbox:retry', 'keys:read']]));
    });

    it.each<[string, Partial<NewAdminToken>]>([
      ['no scopes', { scopes: [] }],
      ['an unknown scope', { scopes: ['sessions:read', 'root' as never] }],
      ['an empty name', { name: '  ' }],
      ['a name of 101 characters', { name: 'n'.repeat(101) }],
      ['no creator', { createdBy: '' }],
      ['an expiry not after now', { expiresAt: t0 }],
      ['an expiry that is not whole seconds', { expiresAt: t0 + 0.5 }],
    ])('refuses %s with ERR_BAD_REQUEST and stores nothing', async (_name, change) => {
      expect(await codeOf(store.create({ ...monitoring, ...change }))).toBe('ERR_BAD_REQUEST');
      expect(await subject.rows()).toEqual([]);
    });
  });

  describe('authenticate', () => {
    it('answers the record of a live token and records the use', async () => {
      const { token, record } = await store.create(monitoring);
      subject.clock.advance(5_000);
      expect(await store.authenticate(token, now())).toEqual({ ...record, lastUsedAt: t0 + 5 });
      expect(await store.list()).toEqual([{ ...record, lastUsedAt: t0 + 5 }]);
    });

    it('writes lastUsedAt at most once a minute', async () => {
      const { token } = await store.create(monitoring);
      await store.authenticate(token, t0);
      expect((await store.authenticate(token, t0 + 59))?.lastUsedAt).toBe(t0);
      expect((await store.list())[0]?.lastUsedAt).toBe(t0);
      expect((await store.authenticate(token, t0 + 60))?.lastUsedAt).toBe(t0 + 60);
      expect((await store.list())[0]?.lastUsedAt).toBe(t0 + 60);
    });

    it('answers null for a well-formed token it never issued, or one character off', async () => {
      const { token } = await store.create(monitoring);
      const other = `tsa_${Buffer.alloc(32, 7).toString('base64url')}`;
      const flipped = token.slice(0, 10) + (token[10] === 'A' ? 'B' : 'A') + token.slice(11);
      expect(await store.authenticate(other, now())).toBeNull();
      expect(await store.authenticate(flipped, now())).toBeNull();
      expect((await store.list())[0]?.lastUsedAt).toBeNull();
    });

    it('answers null for a revoked token, and only that one', async () => {
      const revoked = await store.create(monitoring);
      const kept = await store.create({ ...monitoring, name: 'kept' });
      subject.clock.advance(3_000);
      expect(await store.revoke(revoked.record.id)).toBe(true);
      expect(await store.authenticate(revoked.token, now())).toBeNull();
      expect(await store.authenticate(kept.token, now())).not.toBeNull();
    });

    it('answers null once a token expired', async () => {
      const { token } = await store.create({ ...monitoring, expiresAt: t0 + 3600 });
      subject.clock.advance(3_599_000);
      expect(await store.authenticate(token, now())).not.toBeNull();
      subject.clock.advance(1_000);
      expect(await store.authenticate(token, now())).toBeNull();
    });

    it('answers null for strings that cannot be a token', async () => {
      const { token } = await store.create(monitoring);
      const body = token.slice(4);
      const malformed = [
        '',
        'tsa_',
        body,
        `tsb_${body}`,
        `TSA_${body}`,
        `Bearer ${token}`,
        ` ${token}`,
        `${token}A`,
        token.slice(0, -1),
        `tsa_${body.slice(0, -2)}+/`,
        `tsa_${body.slice(0, -1)}=`,
        `tsa_${'é'.repeat(43)}`,
      ];
      for (const value of malformed) expect([value, await store.authenticate(value, now())]).toEqual([value, null]);
      expect(await store.authenticate(undefined as unknown as string, now())).toBeNull();
    });

    it('answers null for a malformed token without asking the store', async () => {
      await subject.sever();
      expect(await store.authenticate('tsa_short', t0)).toBeNull();
      expect(await codeOf(store.authenticate(`tsa_${Buffer.alloc(32).toString('base64url')}`, t0))).toBe('ERR_STORE_UNAVAILABLE');
    });
  });

  describe('list and revoke', () => {
    it('lists every token newest first, revoked ones included, without hashes', async () => {
      const first = await store.create(monitoring);
      subject.clock.advance(1_000);
      const second = await store.create({ ...monitoring, name: 'deploy', scopes: ['keys:rotate'], createdBy: 'user-1', expiresAt: t0 + 86_400 });
      subject.clock.advance(1_000);
      expect(await store.revoke(first.record.id)).toBe(true);
      const listed = await store.list();
      expect(listed).toEqual([second.record, { ...first.record, revokedAt: t0 + 2 }]);
      for (const record of listed) expect(Object.keys(record).sort()).toEqual(['createdAt', 'createdBy', 'expiresAt', 'id', 'lastUsedAt', 'name', 'revokedAt', 'scopes']);
    });

    it('revokes once; an unknown id is false', async () => {
      const { record } = await store.create(monitoring);
      expect(await store.revoke(record.id)).toBe(true);
      subject.clock.advance(60_000);
      expect(await store.revoke(record.id)).toBe(false);
      expect((await store.list())[0]?.revokedAt).toBe(t0);
      expect(await store.revoke('nobody')).toBe(false);
    });

    it('lists nothing when empty', async () => {
      expect(await store.list()).toEqual([]);
    });
  });

  it('answers ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('rejects every call with ERR_STORE_UNAVAILABLE once the store is gone', async () => {
    await subject.sever();
    expect(await codeOf(store.ping())).toBe('ERR_STORE_UNAVAILABLE');
    expect(await codeOf(store.create(monitoring))).toBe('ERR_STORE_UNAVAILABLE');
    expect(await codeOf(store.list())).toBe('ERR_STORE_UNAVAILABLE');
    expect(await codeOf(store.revoke('some-id'))).toBe('ERR_STORE_UNAVAILABLE');
  });
}
