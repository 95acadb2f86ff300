/**
 * The contract every `UserStore` + `MagicLinkStore` adapter fulfils (ports.ts). Adapter test
 * files call `describeUserStoreContract` with a function that opens a fresh, empty store.
 */
import type { FrozenClock } from '../../src/core/clock';
import type { MagicLinkStore, NewMagicLink, UserRecord, UserStore } from '../../src/ports';
import type { EmailKeyConflict } from '../../src/stores/user-store-shared';
import { codeOf } from '../support/errors';

/**
 * A `users` row as the releases before NFC keys wrote it: `emailNormalized` is what
 * `normalizeEmail` was then (trimmed and lower-cased, no Unicode normalisation).
 */
export interface LegacyUserRow {
  id: string;
  email: string;
  emailNormalized: string;
  createdAt: number;
}

export interface UserStoreSubject {
  store: UserStore & MagicLinkStore;
  /** The clock the store was given; starts at `contractStart`. */
  clock: FrozenClock;
  /**
   * A second, separate database at the users schema of the release before NFC keys, `rows`
   * written into it with raw SQL, then opened as a store (which migrates it): that store and
   * the key conflicts its migration reported. Released by `dispose`.
   */
  openWithLegacyRows(rows: LegacyUserRow[]): Promise<{ store: UserStore & MagicLinkStore; conflicts: EmailKeyConflict[] }>;
  /** Releases everything `open` and `openWithLegacyRows` created. */
  dispose(): Promise<void>;
}

/** Where the subject's clock starts (ms). */
export const contractStart = 1_700_000_000_000;
const t0 = contractStart / 1000;


function emails(users: UserRecord[]): string[] {
  return users.map((user) => user.email);
}

export function describeUserStoreContract(open: () => Promise<UserStoreSubject>): void {
  let subject: UserStoreSubject;
  let store: UserStore & MagicLinkStore;

  beforeEach(async () => {
    subject = await open();
    store = subject.store;
  });

  afterEach(async () => {
    await subject.dispose();
  });

  describe('create and find', () => {
    it('creates a user with defaults and finds it by id and e-mail', async () => {
      const created = await store.create({ email: '  Ada@Example.org ' });
      expect(created).toEqual({
        id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        email: 'Ada@Example.org',
        name: null,
        passwordHash: null,
        roles: [],
        disabled: false,
        createdAt: t0,
        lastLoginAt: null,
        totpEnabledAt: null,
        passwordVersion: 0,
      });
      expect(await store.totpState(created.id)).toBeNull();
      expect(await store.findById(created.id)).toEqual(created);
      expect(await store.findByEmail('Ada@Example.org')).toEqual(created);
    });

    it('stores every given field, dropping duplicate roles', async () => {
      subject.clock.advance(5_000);
      const created = await store.create({
        id: 'user-1',
        email: 'grace@example.org',
        name: 'Grace Hopper',
        passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
        roles: ['admin', 'auditor', 'admin'],
        disabled: true,
      });
      const expected: UserRecord = {
        id: 'user-1',
        email: 'grace@example.org',
        name: 'Grace Hopper',
        passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
        roles: ['admin', 'auditor'],
        disabled: true,
        createdAt: t0 + 5,
        lastLoginAt: null,
        totpEnabledAt: null,
        passwordVersion: 0,
      };
      expect(created).toEqual(expected);
      expect(await store.findById('user-1')).toEqual(expected);
    });

    it('gives every user its own random id', async () => {
      const a = await store.create({ email: 'a@example.org' });
      const b = await store.create({ email: 'b@example.org' });
      expect(a.id).not.toBe(b.id);
    });

    it('answers null for unknown ids and addresses', async () => {
      await store.create({ email: 'a@example.org' });
      expect(await store.findById('nobody')).toBeNull();
      expect(await store.findByEmail('b@example.org')).toBeNull();
    });

    it('refuses an empty e-mail address with ERR_BAD_REQUEST', async () => {
      expect(await codeOf(store.create({ email: '   ' }))).toBe('ERR_BAD_REQUEST');
    });

    it('refuses a taken id with ERR_STORE_CONFLICT', async () => {
      await store.create({ id: 'same', email: 'a@example.org' });
      expect(await codeOf(store.create({ id: 'same', email: 'b@example.org' }))).toBe('ERR_STORE_CONFLICT');
      expect(await store.findByEmail('b@example.org')).toBeNull();
    });
  });

  describe('case-insensitive e-mail addresses', () => {
    it('treats A@x.io and a@X.IO as one address', async () => {
      const first = await store.create({ email: 'A@x.io' });
      expect(await codeOf(store.create({ email: 'a@X.IO' }))).toBe('ERR_USER_EXISTS');
      expect(await codeOf(store.create({ email: ' a@x.io ' }))).toBe('ERR_USER_EXISTS');
      expect(await store.findByEmail('a@X.IO')).toEqual(first);
      expect(await store.findByEmail('  A@X.io  ')).toEqual(first);
      const page = await store.list({}, { limit: 10 });
      expect(emails(page.items)).toEqual(['A@x.io']);
    });

    it('folds non-ASCII case too, and keeps the address as entered', async () => {
      const first = await store.create({ email: 'Élodie@Exemple.fr' });
      expect(await codeOf(store.create({ email: 'élodie@exemple.fr' }))).toBe('ERR_USER_EXISTS');
      expect((await store.findByEmail('ÉLODIE@EXEMPLE.FR'))?.email).toBe('Élodie@Exemple.fr');
      expect(first.email).toBe('Élodie@Exemple.fr');
    });
  });

  describe('Unicode-equivalent e-mail addresses (NFC, RFC 6532 §3.1)', () => {
    const nfd = 'Zoe\u0308@Example.org';
    const nfc = 'Zo\u00eb@Example.org';

    it('finds a user signed up with the decomposed form by the precomposed one, and refuses the other form as a duplicate', async () => {
      const first = await store.create({ email: nfd });
      expect(first.email).toBe(nfd);
      expect(await store.findByEmail(nfc)).toEqual(first);
      expect(await store.findByEmail('ZO\u00cb@example.ORG')).toEqual(first);
      expect(await codeOf(store.create({ email: nfc }))).toBe('ERR_USER_EXISTS');
      expect(emails((await store.list({ emailContains: 'zo\u00eb' }, { limit: 10 })).items)).toEqual([nfd]);
    });

    it('finds a user signed up with the precomposed form by the decomposed one, and refuses it as a new address or a changed one', async () => {
      const first = await store.create({ email: nfc });
      const other = await store.create({ email: 'other@example.org' });
      expect(await store.findByEmail(nfd)).toEqual(first);
      expect(await codeOf(store.create({ email: nfd }))).toBe('ERR_USER_EXISTS');
      expect(await codeOf(store.setEmail(other.id, nfd))).toBe('ERR_USER_EXISTS');
      expect((await store.findById(other.id))?.email).toBe('other@example.org');
    });
  });

  describe('NFC keys for rows written before them (migration)', () => {
    /** `normalizeEmail` before NFC keys. */
    const legacyRow = (id: string, email: string, createdAt: number): LegacyUserRow => ({ id, email, emailNormalized: email.trim().toLowerCase(), createdAt });

    it('re-keys the rows whose key changes; of a collision the account already holding the key, else the oldest, wins and the others are reported, unchanged', async () => {
      const { store: migrated, conflicts } = await subject.openWithLegacyRows([
        legacyRow('ascii', 'Ada@example.org', t0 - 70),
        // Decomposed, alone: moves to the NFC key.
        legacyRow('zoe', 'Zoe\u0308@example.org', t0 - 40),
        // Decomposed, older than an account that already holds the NFC key: that one keeps it.
        legacyRow('amelie-nfd', 'Ame\u0301lie@example.org', t0 - 60),
        legacyRow('amelie-nfc', 'Am\u00e9lie@example.org', t0 - 10),
        // Two decomposed forms of one address (marks in either order), both moving: the older wins.
        legacyRow('anh-old', 'a\u0323\u0302nh@example.org', t0 - 30),
        legacyRow('anh-young', 'a\u0302\u0323nh@example.org', t0 - 20),
      ]);
      expect(conflicts).toEqual([
        { userId: 'amelie-nfd', heldBy: 'amelie-nfc' },
        { userId: 'anh-young', heldBy: 'anh-old' },
      ]);
      expect((await migrated.findByEmail('ada@EXAMPLE.org'))?.id).toBe('ascii');
      expect((await migrated.findByEmail('Zo\u00eb@example.org'))?.id).toBe('zoe');
      expect((await migrated.findByEmail('ZOE\u0308@example.org'))?.id).toBe('zoe');
      expect((await migrated.findByEmail('Ame\u0301lie@example.org'))?.id).toBe('amelie-nfc');
      expect((await migrated.findByEmail('\u1ead' + 'nh@example.org'))?.id).toBe('anh-old');
      expect((await migrated.findByEmail('a\u0302\u0323nh@example.org'))?.id).toBe('anh-old');
      expect(await codeOf(migrated.create({ email: 'zo\u00eb@example.org' }))).toBe('ERR_USER_EXISTS');
      // The accounts left behind keep their address as entered, and are still listed, once each,
      // page by page (their old key orders them).
      expect((await migrated.findById('amelie-nfd'))?.email).toBe('Ame\u0301lie@example.org');
      expect((await migrated.findById('anh-young'))?.email).toBe('a\u0302\u0323nh@example.org');
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof migrated.list>> = await migrated.list({}, { limit: 1, cursor });
        seen.push(...page.items.map((user) => user.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(seen.sort()).toEqual(['amelie-nfc', 'amelie-nfd', 'anh-old', 'anh-young', 'ascii', 'zoe']);
      // An operator resolves one by giving it another address.
      expect((await migrated.setEmail('anh-young', 'anh.2@example.org')).id).toBe('anh-young');
      expect((await migrated.findByEmail('ANH.2@example.org'))?.id).toBe('anh-young');
    });

    it('reports nothing when no key changes', async () => {
      const { store: migrated, conflicts } = await subject.openWithLegacyRows([legacyRow('ascii', 'Ada@example.org', t0), legacyRow('nfc', 'Zo\u00eb@example.org', t0)]);
      expect(conflicts).toEqual([]);
      expect((await migrated.findByEmail('zoe\u0308@example.org'))?.id).toBe('nfc');
    });
  });

  describe('list', () => {
    beforeEach(async () => {
      // Created out of order and in mixed case: the order must come from the normalized address.
      await store.create({ email: 'Dora@example.org', roles: ['auditor'] });
      await store.create({ email: 'bob@example.net', roles: ['admin'], disabled: true });
      await store.create({ email: 'ALICE@example.org', roles: ['admin', 'auditor'] });
      await store.create({ email: 'carol_x@example.com' });
      await store.create({ email: 'carolyx@example.com', disabled: true });
    });

    const all = ['ALICE@example.org', 'bob@example.net', 'carol_x@example.com', 'carolyx@example.com', 'Dora@example.org'];

    it('orders by normalized e-mail address', async () => {
      const page = await store.list({}, { limit: 100 });
      expect(emails(page.items)).toEqual(all);
      expect(page.nextCursor).toBeNull();
    });

    it('filters by e-mail substring, case-insensitively and literally', async () => {
      expect(emails((await store.list({ emailContains: 'EXAMPLE.ORG' }, { limit: 100 })).items)).toEqual(['ALICE@example.org', 'Dora@example.org']);
      // `_` and `%` are characters here, not LIKE wildcards.
      expect(emails((await store.list({ emailContains: 'carol_' }, { limit: 100 })).items)).toEqual(['carol_x@example.com']);
      expect((await store.list({ emailContains: '%' }, { limit: 100 })).items).toEqual([]);
    });

    it('filters by role and by disabled flag, combined with AND', async () => {
      expect(emails((await store.list({ role: 'admin' }, { limit: 100 })).items)).toEqual(['ALICE@example.org', 'bob@example.net']);
      expect(emails((await store.list({ role: 'admi' }, { limit: 100 })).items)).toEqual([]);
      expect(emails((await store.list({ disabled: true }, { limit: 100 })).items)).toEqual(['bob@example.net', 'carolyx@example.com']);
      expect(emails((await store.list({ disabled: false }, { limit: 100 })).items)).toEqual(['ALICE@example.org', 'carol_x@example.com', 'Dora@example.org']);
      expect(emails((await store.list({ role: 'admin', disabled: false }, { limit: 100 })).items)).toEqual(['ALICE@example.org']);
      expect(emails((await store.list({ role: 'auditor', emailContains: 'dora' }, { limit: 100 })).items)).toEqual(['Dora@example.org']);
    });

    it('pages through every user exactly once', async () => {
      const first = await store.list({}, { limit: 2 });
      expect(emails(first.items)).toEqual(all.slice(0, 2));
      expect(first.nextCursor).not.toBeNull();
      const second = await store.list({}, { limit: 2, cursor: first.nextCursor });
      expect(emails(second.items)).toEqual(all.slice(2, 4));
      const third = await store.list({}, { limit: 2, cursor: second.nextCursor });
      expect(emails(third.items)).toEqual(all.slice(4));
      expect(third.nextCursor).toBeNull();
    });

    it('pages within a filter and ends without an empty page', async () => {
      const first = await store.list({ disabled: false }, { limit: 2 });
      expect(emails(first.items)).toEqual(['ALICE@example.org', 'carol_x@example.com']);
      const second = await store.list({ disabled: false }, { limit: 2, cursor: first.nextCursor });
      expect(emails(second.items)).toEqual(['Dora@example.org']);
      expect(second.nextCursor).toBeNull();
      const exact = await store.list({ role: 'admin' }, { limit: 2 });
      expect(exact.items).toHaveLength(2);
      expect(exact.nextCursor).toBeNull();
    });

    it('refuses a bad limit or cursor with ERR_BAD_REQUEST', async () => {
      expect(await codeOf(store.list({}, { limit: 0 }))).toBe('ERR_BAD_REQUEST');
      expect(await codeOf(store.list({}, { limit: 1.5 }))).toBe('ERR_BAD_REQUEST');
      expect(await codeOf(store.list({}, { limit: 2, cursor: '***' }))).toBe('ERR_BAD_REQUEST');
    });
  });

  describe('updates', () => {
    let user: UserRecord;
    let other: UserRecord;

    beforeEach(async () => {
      user = await store.create({ email: 'ada@example.org', name: 'Ada', passwordHash: 'hash-1', roles: ['admin'] });
      other = await store.create({ email: 'bob@example.org' });
    });

    it('disables and enables a user', async () => {
      expect(await store.setDisabled(user.id, true)).toEqual({ ...user, disabled: true });
      expect((await store.findById(user.id))?.disabled).toBe(true);
      expect(await store.setDisabled(user.id, false)).toEqual(user);
      expect(await store.findById(user.id)).toEqual(user);
      expect(await store.findById(other.id)).toEqual(other);
    });

    it('replaces roles, without duplicates', async () => {
      expect((await store.setRoles(user.id, ['auditor', 'admin', 'auditor'])).roles).toEqual(['auditor', 'admin']);
      expect((await store.findById(user.id))?.roles).toEqual(['auditor', 'admin']);
      expect((await store.setRoles(user.id, [])).roles).toEqual([]);
      expect((await store.list({ role: 'admin' }, { limit: 10 })).items).toEqual([]);
    });

    it('records the last login', async () => {
      expect(await store.recordLogin(user.id, t0 + 60)).toEqual({ ...user, lastLoginAt: t0 + 60 });
      expect((await store.findById(user.id))?.lastLoginAt).toBe(t0 + 60);
      expect((await store.findById(other.id))?.lastLoginAt).toBeNull();
    });

    it('sets and clears the password hash, counting each change', async () => {
      expect(await store.setPasswordHash(user.id, 'hash-2')).toEqual({ ...user, passwordHash: 'hash-2', passwordVersion: 1 });
      expect(await store.findById(user.id)).toEqual({ ...user, passwordHash: 'hash-2', passwordVersion: 1 });
      expect(await store.setPasswordHash(user.id, null)).toEqual({ ...user, passwordHash: null, passwordVersion: 2 });
      expect(await store.findByEmail('ada@example.org')).toEqual({ ...user, passwordHash: null, passwordVersion: 2 });
      expect((await store.setPasswordHash(user.id, 'hash-2')).passwordVersion).toBe(3);
      expect((await store.findById(other.id))?.passwordVersion).toBe(0);
    });

    it('upgrades the hash only while it is still the one read, without counting a change', async () => {
      expect(await store.upgradePasswordHash(user.id, 'hash-1', 'hash-1b')).toBe(true);
      expect(await store.findById(user.id)).toEqual({ ...user, passwordHash: 'hash-1b' });
      // A concurrent sign-in upgraded it first, or the password changed: nothing is overwritten.
      expect(await store.upgradePasswordHash(user.id, 'hash-1', 'hash-1c')).toBe(false);
      await store.setPasswordHash(user.id, 'hash-2');
      expect(await store.upgradePasswordHash(user.id, 'hash-1b', 'hash-1d')).toBe(false);
      expect(await store.findById(user.id)).toEqual({ ...user, passwordHash: 'hash-2', passwordVersion: 1 });
      expect(await store.upgradePasswordHash('nobody', 'hash-2', 'hash-3')).toBe(false);
      expect(await store.upgradePasswordHash(other.id, 'hash-2', 'hash-3')).toBe(false);
      expect(await store.findById(other.id)).toEqual(other);
    });

    it('upgrades for exactly one of 20 concurrent upgrades of one hash', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.upgradePasswordHash(user.id, 'hash-1', `hash-1-${i}`)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await store.findById(user.id))?.passwordHash).toBe(`hash-1-${results.indexOf(true)}`);
    });

    it('sets and clears the display name', async () => {
      expect((await store.setName(user.id, 'Ada Lovelace')).name).toBe('Ada Lovelace');
      expect((await store.setName(user.id, null)).name).toBeNull();
      expect((await store.findById(user.id))?.name).toBeNull();
    });

    it('deletes a user with their pending magic links, frees the address and leaves the others', async () => {
      await store.createMagicLink({ tokenHash: 'a'.repeat(64), userId: user.id, email: user.email, expiresAt: t0 + 600, returnTo: null });
      await store.createMagicLink({ tokenHash: 'b'.repeat(64), userId: other.id, email: other.email, expiresAt: t0 + 600, returnTo: null });
      expect(await store.delete(user.id)).toBe(true);
      expect(await store.findById(user.id)).toBeNull();
      expect(await store.findByEmail('ada@example.org')).toBeNull();
      expect((await store.list({}, { limit: 10 })).items).toEqual([other]);
      expect(await store.peekMagicLink('a'.repeat(64), t0)).toBeNull();
      expect(await store.consumeMagicLink('a'.repeat(64), t0)).toBeNull();
      expect((await store.consumeMagicLink('b'.repeat(64), t0))?.userId).toBe(other.id);
      expect(await store.delete(user.id)).toBe(false);
      const again = await store.create({ email: 'Ada@example.org' });
      expect(again.id).not.toBe(user.id);
    });

    it('changes the e-mail address, drops the pending links sent to the old one, and refuses a taken one', async () => {
      await store.createMagicLink({ tokenHash: 'f'.repeat(64), userId: user.id, email: user.email, expiresAt: t0 + 600, returnTo: null });
      await store.createMagicLink({ tokenHash: 'e'.repeat(64), userId: other.id, email: other.email, expiresAt: t0 + 600, returnTo: null });
      expect(await store.setEmail(user.id, ' Ada.L@Example.org ')).toEqual({ ...user, email: 'Ada.L@Example.org' });
      expect((await store.findByEmail('ada.l@example.org'))?.id).toBe(user.id);
      expect(await store.findByEmail('ada@example.org')).toBeNull();
      expect(await store.peekMagicLink('f'.repeat(64), t0)).toBeNull();
      expect((await store.peekMagicLink('e'.repeat(64), t0))?.userId).toBe(other.id);
      expect(await codeOf(store.setEmail(user.id, 'BOB@example.org'))).toBe('ERR_USER_EXISTS');
      expect((await store.findById(user.id))?.email).toBe('Ada.L@Example.org');
      expect(await codeOf(store.setEmail('nobody', 'x@example.org'))).toBe('ERR_USER_NOT_FOUND');
      expect(await codeOf(store.setEmail(user.id, '  '))).toBe('ERR_BAD_REQUEST');
    });

    it('reads the pending change: none at first, the newest one asked for, none once the address changed', async () => {
      expect(await store.pendingEmailChangeId(user.id)).toBeNull();
      await store.setPendingEmailChange(user.id, 'change-b');
      await store.setPendingEmailChange(user.id, 'change-c');
      expect(await store.pendingEmailChangeId(user.id)).toBe('change-c');
      expect(await store.pendingEmailChangeId(other.id)).toBeNull();
      await store.setEmail(user.id, 'c@example.org', 'change-c');
      expect(await store.pendingEmailChangeId(user.id)).toBeNull();
      await store.setPendingEmailChange(user.id, 'change-d');
      await store.setEmail(user.id, 'set-by-admin@example.org');
      expect(await store.pendingEmailChangeId(user.id)).toBeNull();
      expect(await store.pendingEmailChangeId('nobody')).toBeNull();
    });

    it('changes the address for the newest pending change only, once; any address change ends a pending one', async () => {
      await store.setPendingEmailChange(user.id, 'change-b');
      await store.setPendingEmailChange(user.id, 'change-c');
      expect(await codeOf(store.setEmail(user.id, 'b@example.org', 'change-b'))).toBe('ERR_STORE_CONFLICT');
      expect(await store.findById(user.id)).toEqual(user);
      expect(await store.findByEmail('b@example.org')).toBeNull();
      // Another account's pending change is not this one's.
      expect(await codeOf(store.setEmail(other.id, 'c@example.org', 'change-c'))).toBe('ERR_STORE_CONFLICT');
      expect(await store.setEmail(user.id, 'c@example.org', 'change-c')).toEqual({ ...user, email: 'c@example.org' });
      expect(await codeOf(store.setEmail(user.id, 'd@example.org', 'change-c'))).toBe('ERR_STORE_CONFLICT');
      expect((await store.findById(user.id))?.email).toBe('c@example.org');

      await store.setPendingEmailChange(user.id, 'change-e');
      await store.setEmail(user.id, 'set-by-admin@example.org');
      expect(await codeOf(store.setEmail(user.id, 'e@example.org', 'change-e'))).toBe('ERR_STORE_CONFLICT');
      expect((await store.findById(user.id))?.email).toBe('set-by-admin@example.org');
      expect(await codeOf(store.setPendingEmailChange('nobody', 'change-f'))).toBe('ERR_USER_NOT_FOUND');
      expect(await codeOf(store.setEmail('nobody', 'f@example.org', 'change-f'))).toBe('ERR_USER_NOT_FOUND');
    });

    it('refuses a pending change to a taken address with ERR_USER_EXISTS, changing nothing', async () => {
      await store.setPendingEmailChange(user.id, 'change-b');
      expect(await codeOf(store.setEmail(user.id, 'BOB@example.org', 'change-b'))).toBe('ERR_USER_EXISTS');
      expect(await store.findById(user.id)).toEqual(user);
      expect((await store.setEmail(user.id, 'b@example.org', 'change-b')).email).toBe('b@example.org');
    });

    it('changes the address for exactly one of 10 concurrent confirmations of one pending change', async () => {
      await store.setPendingEmailChange(user.id, 'change-b');
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.setEmail(user.id, `b${i}@example.org`, 'change-b')));
      const changed = results.filter((result) => result.status === 'fulfilled');
      expect(changed).toHaveLength(1);
      expect(results.filter((result) => result.status === 'rejected').map((result) => (result.reason as { code?: unknown }).code)).toEqual(Array(9).fill('ERR_STORE_CONFLICT'));
      expect((await store.findById(user.id))?.email).toBe((changed[0] as PromiseFulfilledResult<UserRecord>).value.email);
    });

    it('fails with ERR_USER_NOT_FOUND for an unknown id', async () => {
      expect(await codeOf(store.setDisabled('nobody', true))).toBe('ERR_USER_NOT_FOUND');
      expect(await codeOf(store.setRoles('nobody', ['admin']))).toBe('ERR_USER_NOT_FOUND');
      expect(await codeOf(store.setName('nobody', 'x'))).toBe('ERR_USER_NOT_FOUND');
      expect(await codeOf(store.setPasswordHash('nobody', null))).toBe('ERR_USER_NOT_FOUND');
      expect(await codeOf(store.recordLogin('nobody', t0))).toBe('ERR_USER_NOT_FOUND');
    });
  });

  describe('two-step sign-in (TOTP)', () => {
    const secret = 'JBSWY3DPEHPK3PXP';
    const [codeA, codeB, codeC, codeD] = ['a', 'b', 'c', 'd'].map((c) => c.repeat(64));
    let user: UserRecord;
    let other: UserRecord;

    beforeEach(async () => {
      user = await store.create({ email: 'ada@example.org', roles: ['admin'] });
      other = await store.create({ email: 'bob@example.org' });
      await store.setTotp(other.id, { secret: 'GEZDGNBVGY3TQOJQ', recoveryCodeHashes: [codeA] });
      other = (await store.findById(other.id)) as UserRecord;
    });

    it('turns on with the clock\'s time and off, clearing secret, codes and last step', async () => {
      subject.clock.advance(7_000);
      const on = await store.setTotp(user.id, { secret, recoveryCodeHashes: [codeA, codeB] });
      expect(on).toEqual({ ...user, totpEnabledAt: t0 + 7 });
      expect(await store.findById(user.id)).toEqual(on);
      expect(await store.findByEmail('ADA@example.org')).toEqual(on);
      expect((await store.list({ emailContains: 'ada' }, { limit: 10 })).items).toEqual([on]);
      expect(await store.totpState(user.id)).toEqual({ secret, lastStep: null, recoveryCodeHashes: [codeA, codeB] });
      expect(await store.useTotpStep(user.id, 1_000)).toBe(true);
      expect((await store.totpState(user.id))?.lastStep).toBe(1_000);

      const off = await store.setTotp(user.id, null);
      expect(off).toEqual(user);
      expect(await store.findById(user.id)).toEqual(user);
      expect(await store.totpState(user.id)).toBeNull();
      expect(await store.useRecoveryCode(user.id, codeA)).toBe(false);

      subject.clock.advance(3_000);
      expect((await store.setTotp(user.id, { secret: 'MFRGGZDFMZTWQ2LK', recoveryCodeHashes: [codeC] })).totpEnabledAt).toBe(t0 + 10);
      expect(await store.totpState(user.id)).toEqual({ secret: 'MFRGGZDFMZTWQ2LK', lastStep: null, recoveryCodeHashes: [codeC] });
      expect(await store.findById(other.id)).toEqual(other);
      expect((await store.totpState(other.id))?.recoveryCodeHashes).toEqual([codeA]);
    });

    it('keeps a repeated recovery code hash once', async () => {
      await store.setTotp(user.id, { secret, recoveryCodeHashes: [codeA, codeB, codeA] });
      expect((await store.totpState(user.id))?.recoveryCodeHashes).toEqual([codeA, codeB]);
      await store.setRecoveryCodes(user.id, [codeC, codeC]);
      expect((await store.totpState(user.id))?.recoveryCodeHashes).toEqual([codeC]);
    });

    it('accepts only later time steps', async () => {
      await store.setTotp(user.id, { secret, recoveryCodeHashes: [] });
      expect(await store.useTotpStep(user.id, 56_666_667)).toBe(true);
      expect(await store.useTotpStep(user.id, 56_666_667)).toBe(false);
      expect(await store.useTotpStep(user.id, 56_666_666)).toBe(false);
      expect(await store.useTotpStep(user.id, 56_666_668)).toBe(true);
      expect((await store.totpState(user.id))?.lastStep).toBe(56_666_668);
      expect(await store.useTotpStep(other.id, 56_666_667)).toBe(true);
      await store.setTotp(user.id, null);
      expect(await store.useTotpStep(user.id, 56_666_669)).toBe(false);
      expect(await store.useTotpStep('nobody', 56_666_669)).toBe(false);
    });

    it('accepts exactly one of 20 concurrent uses of one step', async () => {
      await store.setTotp(user.id, { secret, recoveryCodeHashes: [] });
      const used = await Promise.all(Array.from({ length: 20 }, () => store.useTotpStep(user.id, 56_666_667)));
      expect(used.filter(Boolean)).toHaveLength(1);
      expect((await store.totpState(user.id))?.lastStep).toBe(56_666_667);
    });

    it('refuses a step that is not a non-negative integer with ERR_BAD_REQUEST', async () => {
      await store.setTotp(user.id, { secret, recoveryCodeHashes: [] });
      for (const step of [-1, 1.5, Number.NaN]) expect(await codeOf(store.useTotpStep(user.id, step))).toBe('ERR_BAD_REQUEST');
      expect((await store.totpState(user.id))?.lastStep).toBeNull();
    });

    it('spends a recovery code once and keeps the others', async () => {
      await store.setTotp(user.id, { secret, recoveryCodeHashes: [codeA, codeB, codeC] });
      expect(await store.useRecoveryCode(user.id, codeB)).toBe(true);
      expect(await store.useRecoveryCode(user.id, codeB)).toBe(false);
      expect(await store.useRecoveryCode(user.id, codeD)).toBe(false);
      expect(await store.useRecoveryCode('nobody', codeA)).toBe(false);
      expect((await store.totpState(user.id))?.recoveryCodeHashes).toEqual([codeA, codeC]);
      expect((await store.totpState(other.id))?.recoveryCodeHashes).toEqual([codeA]);
    });

    it('spends a recovery code for exactly one of 20 concurrent uses', async () => {
      await store.setTotp(user.id, { secret, recoveryCodeHashes: [codeA, codeB] });
      const used = await Promise.all(Array.from({ length: 20 }, () => store.useRecoveryCode(user.id, codeA)));
      expect(used.filter(Boolean)).toHaveLength(1);
      expect((await store.totpState(user.id))?.recoveryCodeHashes).toEqual([codeB]);
    });

    it('replaces the remaining recovery codes', async () => {
      await store.setTotp(user.id, { secret, recoveryCodeHashes: [codeA, codeB] });
      await store.useTotpStep(user.id, 5);
      await store.setRecoveryCodes(user.id, [codeC, codeD]);
      expect(await store.totpState(user.id)).toEqual({ secret, lastStep: 5, recoveryCodeHashes: [codeC, codeD] });
      expect(await store.useRecoveryCode(user.id, codeA)).toBe(false);
      expect(await store.useRecoveryCode(user.id, codeD)).toBe(true);
    });

    it('fails with ERR_USER_NOT_FOUND for an unknown id and ERR_BAD_REQUEST when off or malformed, changing nothing', async () => {
      expect(await codeOf(store.setTotp('nobody', { secret, recoveryCodeHashes: [codeA] }))).toBe('ERR_USER_NOT_FOUND');
      expect(await codeOf(store.setTotp('nobody', null))).toBe('ERR_USER_NOT_FOUND');
      expect(await codeOf(store.setRecoveryCodes('nobody', [codeA]))).toBe('ERR_USER_NOT_FOUND');
      expect(await store.totpState('nobody')).toBeNull();
      expect(await codeOf(store.setRecoveryCodes(user.id, [codeA]))).toBe('ERR_BAD_REQUEST');
      expect(await store.totpState(user.id)).toBeNull();
      for (const bad of ['', 'jbswy3dpehpk3pxp', 'JBSWY3DPEHPK3PXP====', 'JBSWY3DP EHPK3PXP']) {
        expect(await codeOf(store.setTotp(user.id, { secret: bad, recoveryCodeHashes: [codeA] }))).toBe('ERR_BAD_REQUEST');
      }
      expect(await codeOf(store.setTotp(user.id, { secret, recoveryCodeHashes: [''] }))).toBe('ERR_BAD_REQUEST');
      expect(await store.findById(user.id)).toEqual(user);
      expect(await codeOf(store.setRecoveryCodes(other.id, [codeB, '']))).toBe('ERR_BAD_REQUEST');
      expect((await store.totpState(other.id))?.recoveryCodeHashes).toEqual([codeA]);
    });

    it('deletes a user with two-step sign-in on', async () => {
      await store.setTotp(user.id, { secret, recoveryCodeHashes: [codeA] });
      expect(await store.delete(user.id)).toBe(true);
      expect(await store.totpState(user.id)).toBeNull();
      expect(await store.useRecoveryCode(user.id, codeA)).toBe(false);
      expect(await store.findById(other.id)).toEqual(other);
    });
  });

  describe('magic links', () => {
    const link = (tokenHash: string, expiresAt: number): NewMagicLink => ({
      tokenHash,
      userId: 'user-1',
      email: 'Ada@example.org',
      expiresAt,
      returnTo: 'https://www.example.org/basket',
    });

    it('grants a link once', async () => {
      await store.createMagicLink(link('a'.repeat(64), t0 + 600));
      expect(await store.consumeMagicLink('a'.repeat(64), t0 + 1)).toEqual({
        userId: 'user-1',
        email: 'Ada@example.org',
        returnTo: 'https://www.example.org/basket',
      });
      expect(await store.consumeMagicLink('a'.repeat(64), t0 + 2)).toBeNull();
    });

    it('keeps a null return_to', async () => {
      await store.createMagicLink({ ...link('b'.repeat(64), t0 + 600), returnTo: null });
      expect(await store.consumeMagicLink('b'.repeat(64), t0)).toEqual({ userId: 'user-1', email: 'Ada@example.org', returnTo: null });
    });

    it('shows a pending link without spending it, and nothing once spent or expired', async () => {
      await store.createMagicLink(link('9'.repeat(64), t0 + 600));
      const grant = { userId: 'user-1', email: 'Ada@example.org', returnTo: 'https://www.example.org/basket' };
      expect(await store.peekMagicLink('9'.repeat(64), t0)).toEqual(grant);
      expect(await store.peekMagicLink('9'.repeat(64), t0)).toEqual(grant);
      expect(await store.peekMagicLink('9'.repeat(64), t0 + 600)).toBeNull();
      expect(await store.peekMagicLink('0'.repeat(64), t0)).toBeNull();
      expect(await store.consumeMagicLink('9'.repeat(64), t0)).toEqual(grant);
      expect(await store.peekMagicLink('9'.repeat(64), t0)).toBeNull();
    });

    it('spends the user\'s other pending links with the one used, and nobody else\'s', async () => {
      await store.createMagicLink(link('d'.repeat(64), t0 + 600));
      await store.createMagicLink(link('e'.repeat(64), t0 + 300));
      await store.createMagicLink({ ...link('f'.repeat(64), t0 + 600), userId: 'user-2' });
      expect((await store.consumeMagicLink('d'.repeat(64), t0))?.userId).toBe('user-1');
      expect(await store.peekMagicLink('e'.repeat(64), t0)).toBeNull();
      expect(await store.consumeMagicLink('e'.repeat(64), t0)).toBeNull();
      expect((await store.consumeMagicLink('f'.repeat(64), t0))?.userId).toBe('user-2');
    });

    it('grants exactly one of 20 concurrent consumes', async () => {
      await store.createMagicLink(link('c'.repeat(64), t0 + 600));
      const grants = await Promise.all(Array.from({ length: 20 }, () => store.consumeMagicLink('c'.repeat(64), t0)));
      expect(grants.filter((grant) => grant !== null)).toHaveLength(1);
    });

    it('answers null for an unknown or expired link', async () => {
      await store.createMagicLink(link('d'.repeat(64), t0 + 600));
      await store.createMagicLink(link('e'.repeat(64), t0 + 600));
      expect(await store.consumeMagicLink('0'.repeat(64), t0)).toBeNull();
      expect(await store.consumeMagicLink('d'.repeat(64), t0 + 600)).toBeNull();
      expect(await store.consumeMagicLink('e'.repeat(64), t0 + 599)).not.toBeNull();
    });

    it('refuses a duplicate token hash with ERR_STORE_CONFLICT', async () => {
      await store.createMagicLink(link('f'.repeat(64), t0 + 600));
      expect(await codeOf(store.createMagicLink({ ...link('f'.repeat(64), t0 + 600), userId: 'user-2' }))).toBe('ERR_STORE_CONFLICT');
      expect((await store.consumeMagicLink('f'.repeat(64), t0))?.userId).toBe('user-1');
    });

    it('purges expired links only', async () => {
      await store.createMagicLink(link('1'.repeat(64), t0 + 10));
      await store.createMagicLink(link('2'.repeat(64), t0 + 20));
      await store.createMagicLink(link('3'.repeat(64), t0 + 600));
      expect(await store.purgeExpired(t0 + 20)).toBe(2);
      expect(await store.purgeExpired(t0 + 20)).toBe(0);
      expect(await store.consumeMagicLink('3'.repeat(64), t0 + 20)).not.toBeNull();
    });
  });

  it('answers ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
}
