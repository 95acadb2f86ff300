import { PROJECTION_FIELDS, mergeProjection, projectedFields, projectionExpiresAt, type ProjectionSource } from '../../../src/core/projection/fields';
import { planProjection } from '../../../src/core/projection/plan';

const source: ProjectionSource = {
  sid: 'AAAAAAAAAAAAAAAAAAAAAA',
  userId: 'user-1',
  createdAt: 1_000,
  absoluteExpiresAt: 44_200,
  identity: { email: 'ada@example.org', name: 'Ada', roles: ['editor', 'admin'] },
};

describe('projectedFields', () => {
  it('names every field of the vocabulary with its value', () => {
    expect(projectedFields(PROJECTION_FIELDS, source)).toEqual({
      fields: {
        sub: 'user-1',
        user_id: 'user-1',
        sid: source.sid,
        tessera_sid: source.sid,
        email: 'ada@example.org',
        name: 'Ada',
        roles: ['editor', 'admin'],
        created_at: 1_000,
        expires_at: 44_200,
      },
      unset: [],
    });
  });

  it('lists fields without a value to be removed: anonymous sessions, unset names, claims not given', () => {
    expect(projectedFields(['user_id', 'email', 'name', 'roles', 'sid'], { ...source, userId: null, identity: { roles: 'admin' } })).toEqual({
      fields: { sid: source.sid },
      unset: ['user_id', 'email', 'name', 'roles'],
    });
  });
});

describe('mergeProjection', () => {
  const ours = projectedFields(['user_id', 'name', 'email'], { ...source, identity: { email: 'ada@example.org' } });

  it("keeps the application's variables, replaces ours, removes ours that have no value", () => {
    expect(mergeProjection({ cart: ['book'], user_id: 'someone-else', name: 'Old name' }, ours)).toEqual({ cart: ['book'], user_id: 'user-1', email: 'ada@example.org' });
  });

  it('is null when the session already holds our values, so nothing is rewritten', () => {
    expect(mergeProjection({ cart: [1.5], user_id: 'user-1', email: 'ada@example.org' }, ours)).toBeNull();
    expect(mergeProjection({ user_id: 'user-1', email: 'ada@example.org', name: 'Ada' }, ours)).not.toBeNull();
    const roles = projectedFields(['roles'], source);
    expect(mergeProjection({ roles: ['editor', 'admin'] }, roles)).toBeNull();
    expect(mergeProjection({ roles: ['admin', 'editor'] }, roles)).toEqual({ roles: ['editor', 'admin'] });
  });
});

describe('projectionExpiresAt', () => {
  const session = { idleExpiresAt: 2_800, absoluteExpiresAt: 44_200 };
  it('follows the idle expiry, or the configured TTL from now, never past the absolute expiry', () => {
    expect(projectionExpiresAt(null, session, 1_000)).toBe(2_800);
    expect(projectionExpiresAt(600, session, 1_000)).toBe(1_600);
    expect(projectionExpiresAt(86_400, session, 1_000)).toBe(44_200);
    expect(projectionExpiresAt(null, { idleExpiresAt: 50_000, absoluteExpiresAt: 44_200 }, 1_000)).toBe(44_200);
  });
});

describe('planProjection', () => {
  const write = { format: 'php_serialize' as const, fields: { user_id: 'u1' }, unset: ['name'] };

  it('writes a new key with our variables only', () => {
    expect(planProjection(null, write)).toEqual({ outcome: 'written', value: 'a:1:{s:7:"user_id";s:2:"u1";}' });
    expect(planProjection(null, { ...write, format: 'php' })).toEqual({ outcome: 'written', value: 'user_id|s:2:"u1";' });
    expect(planProjection(null, { ...write, format: 'json' })).toEqual({ outcome: 'written', value: '{"user_id":"u1"}' });
  });

  it("merges into what the application stored, as text or as UTF-8 bytes", () => {
    const stored = 'a:2:{s:4:"cart";a:1:{i:0;s:5:"livre";}s:4:"name";s:3:"Old";}';
    const merged = { outcome: 'written', value: 'a:2:{s:4:"cart";a:1:{i:0;s:5:"livre";}s:7:"user_id";s:2:"u1";}' };
    expect(planProjection(stored, write)).toEqual(merged);
    expect(planProjection(Buffer.from(stored, 'utf8'), write)).toEqual(merged);
  });

  it('leaves a session alone that already holds our values', () => {
    expect(planProjection('cart|i:3;user_id|s:2:"u1";', { ...write, format: 'php' })).toEqual({ outcome: 'current' });
  });

  it('never rewrites what it cannot read: PHP objects, other formats, bytes that are not UTF-8', () => {
    expect(planProjection('a:1:{s:4:"cart";O:4:"Cart":0:{}}', write)).toEqual({ outcome: 'unreadable' });
    expect(planProjection('user_id|s:2:"u1";', write)).toEqual({ outcome: 'unreadable' });
    expect(planProjection(Buffer.from([0x61, 0x3a, 0x31, 0x3a, 0x7b, 0x73, 0x3a, 0x31, 0x3a, 0x22, 0xff, 0x22, 0x3b, 0x69, 0x3a, 0x31, 0x3b, 0x7d]), write)).toEqual({ outcome: 'unreadable' });
  });
});
