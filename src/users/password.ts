/**
 * Password hashing for the login hub: argon2id through the `argon2` native binding, which is
 * why this lives outside src/core/.
 *
 * Parameters: m = 64 MiB, t = 3, p = 4 — RFC 9106 §4's recommendation for memory-constrained
 * settings and argon2's own defaults. They are stronger on every axis than OWASP's minimum
 * (m = 19 MiB, t = 2, p = 1), and cost about 130 ms per hash on a two-core build machine,
 * acceptable for a login. Memory stays bounded: argon2 runs on libuv's thread pool (4 threads
 * by default), so at most four hashes — 256 MiB — are in flight however many logins arrive.
 * They are written out rather than left to the library so an upgrade of `argon2` cannot change
 * them silently; `passwordNeedsRehash` tells the login route when a stored hash is older.
 *
 * Passwords are NFKC-normalised before hashing (NIST SP 800-63B §5.1.1.2), so the same
 * password typed on two keyboards that compose accents differently still matches.
 */
import { randomBytes } from 'node:crypto';
import * as argon2 from 'argon2';
import { TesseraError } from '../core/errors';

const hashOptions = { type: argon2.argon2id, memoryCost: 65_536, timeCost: 3, parallelism: 4 } as const;

/** Password length limits, exported for forms and error messages. */
export const passwordLimits = {
  /** In characters (Unicode code points, after NFKC), as NIST SP 800-63B counts them. */
  minLength: 8,
  /** In UTF-8 bytes of the input: longer input is refused before any work (DoS). */
  maxBytes: 1024,
} as const;

/** Refuses input no password can be (empty, oversize) and returns the NFKC form to hash. */
function normalizedInput(plain: string): string {
  if (plain.length === 0) throw new TesseraError('ERR_PASSWORD_POLICY', 'password is empty');
  if (Buffer.byteLength(plain, 'utf8') > passwordLimits.maxBytes) {
    throw new TesseraError('ERR_PASSWORD_POLICY', `password is longer than ${passwordLimits.maxBytes} bytes`);
  }
  return plain.normalize('NFKC');
}

/**
 * Hashes a new password with argon2id. Fails with `ERR_PASSWORD_POLICY` when it is empty,
 * shorter than 8 characters or longer than 1024 bytes.
 *
 * @example
 * await users.setPasswordHash(user.id, await hashPassword(form.password));
 */
export async function hashPassword(plain: string): Promise<string> {
  const normalized = normalizedInput(plain);
  if ([...normalized].length < passwordLimits.minLength) {
    throw new TesseraError('ERR_PASSWORD_POLICY', `password is shorter than ${passwordLimits.minLength} characters`);
  }
  return argon2.hash(normalized, hashOptions);
}

/**
 * True when `plain` matches the stored argon2 hash. Empty or oversize input fails with
 * `ERR_PASSWORD_POLICY` before any hashing — exactly as `dummyVerify` does, so the answer does
 * not depend on whether the account exists. The minimum length is not checked: a password set
 * under an older policy must still verify.
 *
 * @example
 * const ok = user?.passwordHash ? await verifyPassword(user.passwordHash, password) : await dummyVerify(password);
 */
export async function verifyPassword(passwordHash: string, plain: string): Promise<boolean> {
  return argon2.verify(passwordHash, normalizedInput(plain));
}

let dummyHash: Promise<string> | null = null;

/**
 * Spends the time of a `verifyPassword` and answers false: the login route calls it for an
 * unknown user (or one without a password) so that response time does not reveal which e-mail
 * addresses have accounts. Takes the submitted password so that input checks fail the same way
 * for every account. The dummy hash is made on first use with the current parameters, so only
 * the first call after start takes longer.
 */
export async function dummyVerify(plain: string): Promise<false> {
  const input = normalizedInput(plain);
  dummyHash ??= argon2.hash(randomBytes(32), hashOptions);
  await argon2.verify(await dummyHash, input);
  return false;
}

/** True when a stored hash was made with other parameters: rehash it after a successful login. */
export function passwordNeedsRehash(passwordHash: string): boolean {
  return argon2.needsRehash(passwordHash, hashOptions);
}
