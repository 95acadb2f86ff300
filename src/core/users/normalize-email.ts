/**
 * The key under which an e-mail address is unique: `A@x.io` and ` a@X.IO ` are one user.
 *
 * Only surrounding white space is trimmed and the whole address lower-cased with JavaScript's
 * Unicode-aware `toLowerCase` (locale-independent). We deliberately apply no NFKC or other
 * normalisation: RFC 5321 leaves the local part opaque to everyone but the receiving mail
 * server, so folding compatibility characters could merge two mailboxes that differ. Case is
 * the one difference users expect to be ignored, and virtually every provider ignores it too.
 *
 * @example
 * normalizeEmail(' Ada@Example.ORG '); // 'ada@example.org'
 */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
