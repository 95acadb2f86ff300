import { RandomPool } from '../../src/core/random-pool';

describe('RandomPool', () => {
  it('hands out values of the asked size and encoding', () => {
    const pool = new RandomPool();
    expect(pool.take(12, 'base64url')).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(pool.take(16, 'base64')).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(pool.take(4, 'hex')).toMatch(/^[0-9a-f]{8}$/);
  });

  it('never hands out the same bytes twice, across refills', () => {
    // 40-byte pools, 12 bytes a value: every fourth value needs a refill, the 4-byte tail is dropped.
    const pool = new RandomPool(40);
    const values = Array.from({ length: 2000 }, () => pool.take(12, 'hex'));
    expect(new Set(values).size).toBe(values.length);
  });

  it('serves a value larger than its pool size', () => {
    expect(new RandomPool(8).take(32, 'hex')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a pool size that is not a positive integer', () => {
    expect(() => new RandomPool(0)).toThrow(RangeError);
    expect(() => new RandomPool(1.5)).toThrow(RangeError);
  });
});
