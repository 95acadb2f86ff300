/**
 * E-mail address validation for everything that reaches the mailer (SECURITY.md "Login and
 * e-mail"). Deliberately narrower than RFC 5322: an address is a bare `local@domain` with a
 * dot-atom local part and a host-name domain. Quoted strings, comments, display names, groups,
 * route syntax and IP literals are all refused, because each of them is a way to smuggle extra
 * recipients or headers past a parser that understands more of the RFC than we do
 * (nodemailer's address parser is one such). Pure: no I/O.
 */
import { TesseraError } from '../errors';

/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the angle brackets. */
const maxAddressOctets = 254;
/** RFC 5321 §4.5.3.1.1. */
const maxLocalPartOctets = 64;
/** RFC 1035 §2.3.4. */
const maxLabelLength = 63;

/**
 * Characters no address may contain, whatever the part: white space and every Unicode control,
 * format (bidi overrides, zero-width), surrogate or private-use code point. CR and LF are how
 * header injection starts; invisible code points are how look-alike addresses start.
 */
const forbiddenCharacters = /[\s\p{C}]/u;

/**
 * Characters that only mean something in the wider RFC 5322 grammar: quoted strings (`"`),
 * comments (`(` `)`), angle addresses (`<` `>`), groups and lists (`:` `;` `,`), quoted pairs
 * (`\`), domain literals (`[` `]`).
 */
const structuralCharacters = /["()<>:;,\\[\]]/;

/**
 * One dot-atom atom: RFC 5322 `atext`, plus non-ASCII letters, marks and digits for SMTPUTF8
 * mailboxes (RFC 6531 §3.3).
 */
const atom = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\p{L}\p{M}\p{N}]+$/u;

/** One host-name label: letters (ASCII or internationalized), digits and inner hyphens. */
const label = /^[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]*[\p{L}\p{M}\p{N}])?$/u;

const utf8 = new TextEncoder();

function invalid(reason: string): TesseraError {
  // The address itself stays out of the message: it is user input and may be shown or logged.
  return new TesseraError('ERR_EMAIL_INVALID', `invalid e-mail address: ${reason}`);
}

/**
 * The longest input, in UTF-16 code units (what `String.length`, zod's `max` and HTML's
 * `maxlength` count), that may still be an address within the limits once in NFC: a composed
 * character stands for at most four code units of its decomposed form, and takes at least one
 * octet. Forms and input schemas that bound an address before {@link parseEmailAddress} sees it
 * use this bound, never the 254-octet limit: that limit holds for the NFC form, and the form as
 * typed may be longer (a decomposed `ǖ` is three code units, two octets in NFC) or shorter
 * (U+0958 is one code unit, three octets; in NFC two code units, six octets).
 */
export const maxEmailInputLength = 4 * maxAddressOctets;

/**
 * Validates an e-mail address and returns it trimmed of surrounding white space and in Unicode
 * NFC (RFC 6532 §3.1), unchanged otherwise: case is kept (lookups normalise on their own, see
 * `normalizeEmail`), and compatibility characters are kept too (no NFKC: they may name another
 * mailbox). Limits are measured on the NFC form, the one that is stored and mailed to.
 *
 * @throws TesseraError `ERR_EMAIL_INVALID` (400) when the address breaks any rule.
 *
 * @example
 * parseEmailAddress('  ada@example.com ');   // 'ada@example.com'
 * parseEmailAddress('E\u0301lodie@x.fr');     // 'Élodie@x.fr', with the precomposed U+00C9
 * parseEmailAddress('a@b.com\r\nBcc: x@y.z'); // throws ERR_EMAIL_INVALID
 */
export function parseEmailAddress(input: string): string {
  if (typeof input !== 'string') throw invalid('not a string');
  const trimmed = input.trim();
  if (trimmed === '') throw invalid('empty');
  // Length first, so neither normalisation nor the checks below run on unbounded input.
  if (trimmed.length > maxEmailInputLength) throw invalid(`longer than ${maxAddressOctets} octets`);
  const address = trimmed.normalize('NFC');
  if (utf8.encode(address).length > maxAddressOctets) throw invalid(`longer than ${maxAddressOctets} octets`);
  if (forbiddenCharacters.test(address)) throw invalid('contains white space or a control character');
  if (structuralCharacters.test(address)) throw invalid('contains a quote, comment, bracket, group or list character');

  const parts = address.split('@');
  if (parts.length !== 2) throw invalid("must contain exactly one '@'");
  const [local, domain] = parts as [string, string];

  if (local === '') throw invalid('empty local part');
  if (utf8.encode(local).length > maxLocalPartOctets) throw invalid(`local part longer than ${maxLocalPartOctets} octets`);
  if (!local.split('.').every((part) => atom.test(part))) throw invalid('local part is not a dot-atom');

  if (domain === '') throw invalid('empty domain');
  const labels = domain.split('.');
  if (labels.length < 2 && domain.toLowerCase() !== 'localhost') throw invalid('domain needs a dot');
  for (const part of labels) {
    if (part.length > maxLabelLength) throw invalid(`domain label longer than ${maxLabelLength} characters`);
    if (!label.test(part)) throw invalid('domain label is not a host name');
  }
  // No top-level domain is all digits; refusing one keeps dotted IPv4 addresses out.
  if (/^\d+$/.test(labels[labels.length - 1] as string)) throw invalid('domain is an IP address');

  return address;
}
