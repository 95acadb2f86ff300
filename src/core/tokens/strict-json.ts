/**
 * JSON parsing for token segments. `JSON.parse` silently keeps the last of two members with the
 * same name, so `{"aud":"a","aud":"b"}` would mean one thing to us and maybe another to the
 * next parser in line; RFC 7515 §5.2 and RFC 8725 let a verifier reject such input, and we do.
 */

export type JsonObjectResult =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; reason: 'malformed' | 'duplicate'; member?: string };

/**
 * Parses `text` as one JSON object and refuses duplicate member names at any depth.
 *
 * @example
 * parseJsonObject('{"a":1,"a":2}'); // { ok: false, reason: 'duplicate', member: 'a' }
 */
export function parseJsonObject(text: string): JsonObjectResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'malformed' };
  // Fast path, on every token: each member written in the text has one name separator (a
  // colon outside strings); the parsed value holds fewer members exactly when a name repeated.
  if (countNameSeparators(text) !== countMembers(value)) {
    const member = findDuplicateMember(text);
    return member === null ? { ok: false, reason: 'duplicate' } : { ok: false, reason: 'duplicate', member };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/** Colons outside strings in valid JSON `text`: one per member written. */
function countNameSeparators(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === COLON) count++;
    else if (c === QUOTE) i = closingQuote(text, i);
  }
  return count;
}

/** Members of every object in a parsed JSON value (duplicates already collapsed by JSON.parse). */
function countMembers(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (const item of value) count += countMembers(item);
    return count;
  }
  for (const key in value) count += 1 + countMembers((value as Record<string, unknown>)[key]);
  return count;
}

/** Index of the quote that closes the string opening at `open` (indexOf: strings are most of a token). */
function closingQuote(text: string, open: number): number {
  let quote = text.indexOf('"', open + 1);
  while (isEscaped(text, quote)) quote = text.indexOf('"', quote + 1);
  return quote;
}

/** A quote after an odd run of backslashes is part of the string. */
function isEscaped(text: string, quote: number): boolean {
  let backslashes = 0;
  for (let i = quote - 1; text.charCodeAt(i) === BACKSLASH; i--) backslashes++;
  return backslashes % 2 === 1;
}

/**
 * The first member name that appears twice in one object of `text`, or null. `text` must be
 * valid JSON (the caller parsed it first), which keeps this scan small: outside strings only
 * brackets matter, and a string is a member name exactly when a colon follows it.
 */
function findDuplicateMember(text: string): string | null {
  // One entry per open bracket: the names seen so far in an object, null for an array.
  const open: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) open.push(new Set());
    else if (c === 0x5b /* [ */) open.push(null);
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) open.pop();
    else if (c === QUOTE) {
      const start = i;
      i = closingQuote(text, start);
      const names = open[open.length - 1];
      if (names && nextSignificant(text, i + 1) === COLON) {
        // "\u0061" and "a" name the same member: compare decoded names.
        const raw = text.slice(start, i + 1);
        const name = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (names.has(name)) return name;
        names.add(name);
      }
    }
  }
  return null;
}

function nextSignificant(text: string, from: number): number {
  let i = from;
  while (isJsonWhitespace(text.charCodeAt(i))) i++;
  return text.charCodeAt(i);
}

function isJsonWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
