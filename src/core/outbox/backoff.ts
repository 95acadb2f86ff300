/**
 * When a failed back-channel logout delivery is tried again, and when the outbox gives up.
 *
 * Attempt n (1-based) that failed waits `min(maxDelay, base × 2^(n-1))`, spread by ±20 % jitter
 * so that deliveries queued together for a site that was down do not all hit it again in the
 * same second when it comes back. The outbox gives up after `maxAttempts` attempts, or when the
 * next attempt would start more than `maxAgeSeconds` after the delivery was enqueued.
 *
 * A site that *refused* the token (a 3xx or 4xx answer: OpenID Connect Back-Channel Logout 1.0
 * §2.8 has the RP answer 400 when it cannot log out) gets fewer attempts: its answer is usually
 * deterministic, so retrying it for hours is pointless, but a site mid-deploy or briefly
 * misconfigured may refuse once and accept a minute later, so it is not given up at once.
 */
import { randomInt } from 'node:crypto';
import { TesseraError } from '../errors';

/** Retry schedule settings; every field has a default. */
export interface BackoffOptions {
  /** Wait after the first failed attempt, in seconds. Default 2. */
  baseSeconds?: number;
  /** Longest wait between two attempts, in seconds. Default 600 (10 minutes). */
  maxDelaySeconds?: number;
  /** Attempts before giving up. Default 12. */
  maxAttempts?: number;
  /** Attempts before giving up when the site refused the token (3xx, 4xx). Default 3. */
  maxRefusedAttempts?: number;
  /** No attempt starts later than this many seconds after enqueueing. Default 86 400 (24 h). */
  maxAgeSeconds?: number;
}

/** Defaults of {@link BackoffOptions}. */
export const BACKOFF_DEFAULTS: Readonly<Required<BackoffOptions>> = {
  baseSeconds: 2,
  maxDelaySeconds: 600,
  maxAttempts: 12,
  maxRefusedAttempts: 3,
  maxAgeSeconds: 86_400,
};

/** The share of a delay that jitter may add or remove. */
const jitter = 0.2;

/** How an attempt failed: `refused` is a 3xx or 4xx answer, `unreachable` anything else. */
export type FailureKind = 'refused' | 'unreachable';

/** A validated schedule. */
export interface Backoff {
  /** Seconds to wait after failed attempt `attempt` (1-based), jitter included; at least 1. */
  delaySeconds(attempt: number): number;
  /**
   * When to try a delivery again after its attempt number `attempts` failed at `now`, or null
   * to give up.
   */
  nextAttemptAt(delivery: { attempts: number; createdAt: number }, now: number, failure: FailureKind): number | null;
}

/** A uniform random number in [0, 1) from the CSPRNG (lint keeps `Math.random` out). */
function cryptoRandom(): number {
  return randomInt(0x1_0000_0000) / 0x1_0000_0000;
}

function positiveInteger(options: BackoffOptions, name: keyof BackoffOptions): number {
  const value = options[name] ?? BACKOFF_DEFAULTS[name];
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TesseraError('ERR_CONFIG_INVALID', `"${name}" must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/**
 * Validates the options (`ERR_CONFIG_INVALID`) and returns the schedule. `random` supplies the
 * jitter (uniform in [0, 1)); tests fix it.
 *
 * @example
 * const backoff = createBackoff({ maxAttempts: 5 }, () => 0.5); // 0.5: no jitter
 * backoff.delaySeconds(3); // 8
 * backoff.nextAttemptAt({ attempts: 5, createdAt: 0 }, 100, 'unreachable'); // null: give up
 */
export function createBackoff(options: BackoffOptions = {}, random: () => number = cryptoRandom): Backoff {
  const baseSeconds = positiveInteger(options, 'baseSeconds');
  const maxDelaySeconds = positiveInteger(options, 'maxDelaySeconds');
  const maxAttempts = positiveInteger(options, 'maxAttempts');
  const maxRefusedAttempts = positiveInteger(options, 'maxRefusedAttempts');
  const maxAgeSeconds = positiveInteger(options, 'maxAgeSeconds');
  if (maxDelaySeconds < baseSeconds) throw new TesseraError('ERR_CONFIG_INVALID', '"maxDelaySeconds" must not be less than "baseSeconds"');

  const delaySeconds = (attempt: number): number => {
    // 2^(n-1) overflows to Infinity for huge n, which min() turns into maxDelaySeconds.
    const delay = Math.min(maxDelaySeconds, baseSeconds * 2 ** (Math.max(1, attempt) - 1));
    return Math.max(1, Math.round(delay * (1 - jitter + 2 * jitter * random())));
  };

  return {
    delaySeconds,
    nextAttemptAt(delivery, now, failure) {
      const limit = failure === 'refused' ? Math.min(maxRefusedAttempts, maxAttempts) : maxAttempts;
      if (delivery.attempts >= limit) return null;
      const next = now + delaySeconds(delivery.attempts);
      return next > delivery.createdAt + maxAgeSeconds ? null : next;
    },
  };
}
