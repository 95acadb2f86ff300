/**
 * Display names, wherever they are set (the account page, the admin UI and API, the CLI):
 * NFC, trimmed, empty = none, at most {@link maxDisplayNameLength} characters on one line, and
 * no bidirectional embedding, override or isolate controls (U+202A–U+202E, U+2066–U+2069),
 * which would let a name reorder the text around it on every page and e-mail that shows it.
 */
import { TesseraError } from '../errors';

export const maxDisplayNameLength = 200;

// eslint-disable-next-line no-control-regex
const forbidden = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/**
 * The name as stored, or null for none.
 * @throws TesseraError `ERR_BAD_REQUEST` for a name too long, on several lines, or with control characters.
 */
export function parseDisplayName(input: string): string | null {
  const name = input.normalize('NFC').trim();
  if ([...name].length > maxDisplayNameLength || forbidden.test(name)) {
    throw new TesseraError('ERR_BAD_REQUEST', `A name is at most ${maxDisplayNameLength} characters, on one line, without control characters.`);
  }
  return name === '' ? null : name;
}
