import {
  createSessionRecord,
  formatCookieValue,
  hashSecret,
  isLive,
  parseCookieValue,
  secretMatches,
  touchDue,
} from '../../../src/core/sessions/session';

const policy = { idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 43200, touchIntervalSeconds: 60 };
const now = 1_800_000_000;

describe('session records', () => {
  it('creates 128-bit sids and 256-bit secrets, storing only the hash', () => {
    const { record, secret } = createSessionRecord({ userId: 'u1', ip: '127.0.0.1', userAgent: 'test', now }, policy);
    expect(record.sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(record.sid, 'base64url')).toHaveLength(16);
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(record.secretHash).toBe(hashSecret(secret));
    expect(JSON.stringify(record)).not.toContain(secret);
    expect(record.idleExpiresAt).toBe(now + 1800);
    expect(record.absoluteExpiresAt).toBe(now + 43200);
  });

  it('never issues the same sid or secret twice', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i += 1) {
      const { record, secret } = createSessionRecord({ userId: null, ip: null, userAgent: null, now }, policy);
      seen.add(record.sid);
      seen.add(secret);
    }
    expect(seen.size).toBe(2000);
  });

  it('round-trips the cookie value and rejects anything not shaped as issued', () => {
    const { record, secret } = createSessionRecord({ userId: null, ip: null, userAgent: null, now }, policy);
    const value = formatCookieValue(record.sid, secret);
    expect(parseCookieValue(value)).toEqual({ sid: record.sid, secret });
    expect(parseCookieValue(undefined)).toBeNull();
    expect(parseCookieValue('')).toBeNull();
    expect(parseCookieValue(`${record.sid}`)).toBeNull();
    expect(parseCookieValue(`${record.sid}.${secret}x`)).toBeNull();
    expect(parseCookieValue(`${record.sid}:${secret}`)).toBeNull();
    expect(parseCookieValue(`${record.sid}.${secret.slice(0, 42)}=`)).toBeNull();
    expect(parseCookieValue(value.replace(/^./, '/'))).toBeNull();
  });

  it('compares secrets by hash', () => {
    const { record, secret } = createSessionRecord({ userId: null, ip: null, userAgent: null, now }, policy);
    expect(secretMatches(record.secretHash, secret)).toBe(true);
    expect(secretMatches(record.secretHash, secret.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')))).toBe(false);
    expect(secretMatches('abc', secret)).toBe(false);
  });

  it('throttles sliding writes and never passes the absolute expiry', () => {
    const { record } = createSessionRecord({ userId: 'u', ip: null, userAgent: null, now }, policy);
    expect(touchDue(record, now + 59, policy)).toBeNull();
    expect(touchDue(record, now + 60, policy)).toEqual({ lastSeenAt: now + 60, idleExpiresAt: now + 60 + 1800 });
    const late = touchDue(record, now + 43000, policy);
    expect(late).toEqual({ lastSeenAt: now + 43000, idleExpiresAt: now + 43200 });
  });

  it('is live only inside both expiries', () => {
    expect(isLive({ idleExpiresAt: now + 1, absoluteExpiresAt: now + 10 }, now)).toBe(true);
    expect(isLive({ idleExpiresAt: now, absoluteExpiresAt: now + 10 }, now)).toBe(false);
    expect(isLive({ idleExpiresAt: now + 10, absoluteExpiresAt: now }, now)).toBe(false);
  });
});
