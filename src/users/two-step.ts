/**
 * Two-step sign-in: time-based one-time passwords (TOTP, RFC 6238: HMAC-SHA-1, 6 digits, 30 s)
 * through `otplib`, as every authenticator app speaks them, and single-use recovery codes.
 *
 * - A code is accepted for the current 30-second step and one step either side (clock drift
 *   between phone and server), and only for a step later than the last one accepted for that
 *   user (`UserStore.useTotpStep`): a code seen over someone's shoulder, or sent twice, does
 *   not sign in again.
 * - Recovery codes: ten codes of 60 random bits each (12 base32 characters, written in groups
 *   of four), shown once; the store keeps only SHA-256 of each (they are random, not chosen by
 *   people, so a fast hash is enough), and spends each once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import { toString as qrCode } from 'qrcode';

/** Steps of 30 s either side of now a code may come from. */
const STEP_TOLERANCE_SECONDS = 30;
const RECOVERY_CODE_COUNT = 10;
const base32Alphabet = 'abcdefghijklmnopqrstuvwxyz234567';

/** A new TOTP secret: 160 random bits, base32, as authenticator apps take it. */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The `otpauth://` URI an authenticator app scans (as a QR code) to add the account. */
export function totpUri(input: { issuer: string; account: string; secret: string }): string {
  return generateURI({ issuer: input.issuer, label: input.account, secret: input.secret });
}

/** The URI as an SVG QR code, for the enrolment page (markup, no script, no external request). */
export function qrSvg(uri: string): Promise<string> {
  return qrCode(uri, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
}

/** Six digits, spaces allowed (apps show "123 456"); anything else is no code. */
export function normalizeTotpCode(input: string): string | null {
  const code = input.replace(/\s+/g, '');
  return /^\d{6}$/.test(code) ? code : null;
}

/**
 * The time step `code` belongs to when it is valid for `secret` at `nowSeconds` (± one step),
 * else null. Whether the step was used before is the store's to say (`useTotpStep`).
 */
export async function totpStep(secret: string, code: string, nowSeconds: number): Promise<number | null> {
  const normalized = normalizeTotpCode(code);
  if (normalized === null) return null;
  const result = await verify({ secret, token: normalized, epoch: nowSeconds, epochTolerance: STEP_TOLERANCE_SECONDS });
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}

/** Ten new recovery codes as shown to the person (`abcd-efgh-2345`), and the hashes to store. */
export function newRecoveryCodes(): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const bytes = randomBytes(12);
    const chars = [...bytes].map((b) => base32Alphabet[b & 31]).join('');
    return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
  });
  return { codes, hashes: codes.map(hashRecoveryCode) };
}

/** SHA-256 (hex) of a recovery code as typed: case, spaces and dashes do not matter. */
export function hashRecoveryCode(input: string): string {
  return createHash('sha256').update(input.toLowerCase().replace(/[\s-]+/g, '')).digest('hex');
}

/** Whether `input` is shaped like a recovery code (12 base32 characters once cleaned). */
export function looksLikeRecoveryCode(input: string): boolean {
  return /^[a-z2-7]{12}$/.test(input.toLowerCase().replace(/[\s-]+/g, ''));
}
