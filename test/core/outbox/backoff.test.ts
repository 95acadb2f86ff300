import { BACKOFF_DEFAULTS, createBackoff } from '../../../src/core/outbox/backoff';
import { codeOfSync } from '../../support/errors';

/** 0.5 is the middle of the jitter range: no jitter. */
const middle = () => 0.5;


describe('createBackoff', () => {
  it('doubles from 2 s and stops growing at 10 minutes by default', () => {
    const backoff = createBackoff({}, middle);
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 50, 5000].map((n) => backoff.delaySeconds(n))).toEqual([
      2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600, 600, 600,
    ]);
    expect(BACKOFF_DEFAULTS).toEqual({ baseSeconds: 2, maxDelaySeconds: 600, maxAttempts: 12, maxRefusedAttempts: 3, maxAgeSeconds: 86_400 });
  });

  it('spreads each delay by at most 20 % either way', () => {
    const low = createBackoff({ baseSeconds: 100, maxDelaySeconds: 1000 }, () => 0);
    const high = createBackoff({ baseSeconds: 100, maxDelaySeconds: 1000 }, () => 0.999999);
    expect([1, 2, 4].map((n) => low.delaySeconds(n))).toEqual([80, 160, 640]);
    expect([1, 2, 4].map((n) => high.delaySeconds(n))).toEqual([120, 240, 960]);
    // The cap is applied before the jitter, so capped delays still spread.
    expect([low.delaySeconds(9), high.delaySeconds(9)]).toEqual([800, 1200]);
    expect(createBackoff({ baseSeconds: 10 }, () => 0.25).delaySeconds(1)).toBe(9);
  });

  it('never waits less than a second', () => {
    expect(createBackoff({ baseSeconds: 1 }, () => 0).delaySeconds(1)).toBe(1);
  });

  it('schedules the next attempt from now, and gives up after maxAttempts', () => {
    const backoff = createBackoff({ maxAttempts: 4 }, middle);
    const createdAt = 1000;
    expect(backoff.nextAttemptAt({ attempts: 1, createdAt }, 1000, 'unreachable')).toBe(1002);
    expect(backoff.nextAttemptAt({ attempts: 3, createdAt }, 1014, 'unreachable')).toBe(1022);
    expect(backoff.nextAttemptAt({ attempts: 4, createdAt }, 1022, 'unreachable')).toBeNull();
    expect(backoff.nextAttemptAt({ attempts: 5, createdAt }, 1022, 'unreachable')).toBeNull();
  });

  it('gives up on a refused token after maxRefusedAttempts', () => {
    const backoff = createBackoff({}, middle);
    expect(backoff.nextAttemptAt({ attempts: 2, createdAt: 0 }, 10, 'refused')).toBe(14);
    expect(backoff.nextAttemptAt({ attempts: 3, createdAt: 0 }, 10, 'refused')).toBeNull();
    expect(backoff.nextAttemptAt({ attempts: 3, createdAt: 0 }, 10, 'unreachable')).toBe(18);
    // maxAttempts bounds refusals too.
    expect(createBackoff({ maxAttempts: 2 }, middle).nextAttemptAt({ attempts: 2, createdAt: 0 }, 10, 'refused')).toBeNull();
  });

  it('gives up when the next attempt would start after maxAgeSeconds', () => {
    const backoff = createBackoff({ maxAgeSeconds: 3600, maxAttempts: 100 }, middle);
    expect(backoff.nextAttemptAt({ attempts: 11, createdAt: 0 }, 3000, 'unreachable')).toBe(3600);
    expect(backoff.nextAttemptAt({ attempts: 11, createdAt: 0 }, 3001, 'unreachable')).toBeNull();
  });

  it('uses the CSPRNG for jitter when no source is given', () => {
    const delays = new Set(Array.from({ length: 200 }, () => createBackoff({ baseSeconds: 1000, maxDelaySeconds: 1000 }).delaySeconds(1)));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1200);
    expect(delays.size).toBeGreaterThan(50);
  });

  it('refuses options that are not positive integers, or a cap below the base', () => {
    for (const options of [{ baseSeconds: 0 }, { maxAttempts: 1.5 }, { maxAgeSeconds: -1 }, { maxRefusedAttempts: Number.NaN }, { baseSeconds: 10, maxDelaySeconds: 5 }]) {
      expect([options, codeOfSync(() => createBackoff(options))]).toEqual([options, 'ERR_CONFIG_INVALID']);
    }
  });
});
