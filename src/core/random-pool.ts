/**
 * Random values drawn from `crypto.randomBytes` a pool at a time instead of one call each. On
 * the hub's request paths a `randomBytes` call per value (a request id on every request, a CSP
 * nonce on every page, a jti in every token) cost more than the rest of the value's handling:
 * 5–10 µs each, where slicing a pooled buffer costs well under one (bench/README.md).
 *
 * Every byte still comes from the CSPRNG and is handed out once, so the values are exactly as
 * unpredictable as before. What a pool changes is that the next few hundred values sit in this
 * process's memory before they are used: harmless for public values (request ids, jtis) and
 * for CSP nonces (reading them needs the process's memory, which holds every page anyway); so
 * session secrets, which must not be readable before they exist, are never drawn from one.
 */
import { randomBytes } from 'node:crypto';

/** How many bytes one `randomBytes` call fetches unless told otherwise. */
const DEFAULT_POOL_BYTES = 4096;

/**
 * A pool of CSPRNG bytes, refilled when it runs short (the unused tail is dropped, never reused).
 *
 * @example
 * const ids = new RandomPool();
 * const requestId = ids.take(12, 'base64url'); // 16 characters
 */
export class RandomPool {
  private pool = Buffer.alloc(0);
  private offset = 0;

  constructor(private readonly poolBytes: number = DEFAULT_POOL_BYTES) {
    if (!Number.isInteger(poolBytes) || poolBytes < 1) throw new RangeError('"poolBytes" must be a positive integer');
  }

  /** `bytes` fresh random bytes, encoded. */
  take(bytes: number, encoding: 'base64url' | 'base64' | 'hex'): string {
    if (this.offset + bytes > this.pool.length) {
      this.pool = randomBytes(Math.max(this.poolBytes, bytes));
      this.offset = 0;
    }
    this.offset += bytes;
    return this.pool.toString(encoding, this.offset - bytes, this.offset);
  }
}
