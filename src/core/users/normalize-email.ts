/**
 * The key under which an e-mail address is unique: `A@x.io`, ` a@X.IO ` and, for non-ASCII
 * (SMTPUTF8) addresses, the precomposed `é` (U+00E9) and the decomposed `e` + U+0301 are one user.
 *
 * Surrounding white space is trimmed, the address put in Unicode NFC, lower-cased with
 * JavaScript's Unicode-aware `toLowerCase` (locale-independent), and put in NFC again (lower-casing
 * an NFC string may leave one that is not). NFC because RFC 6532 §3.1 recommends it for
 * addresses: canonically equivalent strings are the same text, only typed, or sent by another
 * device, differently, so they must not make two accounts, nor let one person miss their own.
 * We deliberately apply no NFKC: RFC 5321 leaves the local part opaque to everyone but the
 * receiving mail server, so folding compatibility characters (ligatures, full-width forms,
 * superscripts) could merge two mailboxes that differ. Case is the one other difference users
 * expect to be ignored, and virtually every provider ignores it too.
 *
 * Keys stored before NFC was applied are recomputed by a migration of each user store (see
 * `planEmailKeys` in src/stores/user-store-shared.ts).
 *
 * @example
 * normalizeEmail(' Ada@Example.ORG '); // 'ada@example.org'
 * normalizeEmail('E\u0301lodie@x.fr'); // 'élodie@x.fr', with the precomposed U+00E9
 */
export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase().normalize('NFC');
}
