/**
 * PHP's `serialize()` format and its two session handlers, written and read byte for byte as
 * PHP 8 does (with the default `serialize_precision = -1`), so a PHP site whose session store the
 * hub writes (DESIGN.md "hub as receiver") reads our projection exactly as one PHP wrote itself.
 *
 * Format, per type (checked against `php -r 'echo serialize(…);'`, PHP 8.2):
 * - `N;` null · `b:0;` / `b:1;` · `i:-42;` (canonical decimal)
 * - `d:…;` float: the shortest digits that round-trip (what `var_export` shows), laid out by
 *   `zend_gcvt` with precision 17: plain decimal while the decimal exponent is in [-4, 16]
 *   (`d:0.0001;`, `d:100;`, `d:1.0E+17;`, `d:1.0E-5;`), else `D.DDDE±X` with at least one
 *   fraction digit (`d:1.0E+25;`, `d:1.5E-10;`); `d:-0;`, `d:INF;`, `d:-INF;`, `d:NAN;`.
 * - `s:LEN:"…";` where LEN counts UTF-8 bytes, and the bytes are written raw (no escaping).
 * - `a:N:{key;value…}` with keys `i:…;` or `s:…;`. PHP turns a string key that is a canonical
 *   decimal integer within PHP_INT range (`"5"`, `"-3"`; not `"05"`, `"-0"`, `"+5"`, `" 5"`) into
 *   an integer key, so such object keys are written `i:5;`.
 * - Session handler `php_serialize`: `$_SESSION` as one `a:` array (`a:0:{}` when empty).
 * - Session handler `php`: `name|value` pairs concatenated (the empty string when empty); a name holding `|`
 *   cannot be written, old PHP read `!` as an "undefined" marker, and PHP skips integer names
 *   ("Skipping numeric key"), so names like those are refused rather than lost.
 *
 * JavaScript side (`PhpValue`): safe integers are PHP ints; every other number (and `-0`) is a
 * PHP float; arrays are PHP lists; plain objects are PHP associative arrays. What does not
 * survive a round trip, because JavaScript or PHP cannot tell the difference:
 * - a PHP float with an integral value (`d:2;`) reads as the number 2 and is written back `i:2;`;
 * - an object whose keys are `"0"…"n-1"` in order, and `{}`, read back as arrays (a PHP list);
 * - integer-like object keys come first in ascending order (JavaScript's own property order),
 *   whatever order PHP had them in.
 * The reader refuses what the writer would never produce: objects (`O:`, `C:`), enums (`E:`),
 * references (`r:`, `R:`), duplicate keys, integer-like string keys, integers outside the JS safe
 * range, text after the value, strings that are not UTF-8, nesting deeper than {@link PHP_MAX_DEPTH}.
 * Every refusal is a {@link TesseraError} with code `ERR_PROJECTION_FORMAT`. A PHP site configured
 * with another `serialize_precision` still reads our floats exactly; only its own writes differ.
 */
import { TesseraError } from '../errors';

/** A value that both JavaScript and PHP's `serialize()` can carry without loss (see the header). */
export type PhpValue = null | boolean | number | string | PhpValue[] | { [key: string]: PhpValue };

/**
 * Deepest nesting written or read. PHP's own `unserialize_max_depth` is 4096; staying below it
 * means anything we write PHP can read, and a hostile stored value cannot exhaust our stack.
 */
export const PHP_MAX_DEPTH = 1024;

/** PHP_INT_MIN / PHP_INT_MAX on 64-bit builds: the range in which PHP makes a string key an int. */
const PHP_INT_MIN = -(2n ** 63n);
const PHP_INT_MAX = 2n ** 63n - 1n;

/** A code unit of a lone surrogate: not Unicode, so it has no UTF-8 bytes to write. */
const loneSurrogate = /[\uD800-\uDFFF]/u;

function formatError(message: string): TesseraError {
  return new TesseraError('ERR_PROJECTION_FORMAT', message);
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * `value` as PHP 8's `serialize()` writes it.
 *
 * @throws TesseraError `ERR_PROJECTION_FORMAT` for what is not a {@link PhpValue} (undefined,
 * bigint, class instances, strings with lone surrogates) or nests deeper than {@link PHP_MAX_DEPTH}.
 * @example
 * serializePhp({ user: 'é', n: 5, ratio: 0.5, tags: ['a'] });
 * // 'a:4:{s:4:"user";s:2:"é";s:1:"n";i:5;s:5:"ratio";d:0.5;s:4:"tags";a:1:{i:0;s:1:"a";}}'
 */
export function serializePhp(value: PhpValue): string {
  const out: string[] = [];
  writeValue(out, value, 0);
  return out.join('');
}

function writeValue(out: string[], value: unknown, depth: number): void {
  if (value === null) out.push('N;');
  else if (typeof value === 'boolean') out.push(value ? 'b:1;' : 'b:0;');
  else if (typeof value === 'number') {
    // -0 is a safe integer to JavaScript, but PHP's int has no sign for zero: only a float keeps it.
    out.push(Number.isSafeInteger(value) && !Object.is(value, -0) ? `i:${value};` : `d:${formatPhpFloat(value)};`);
  } else if (typeof value === 'string') writeString(out, value);
  else if (Array.isArray(value)) {
    if (depth >= PHP_MAX_DEPTH) throw formatError(`nested deeper than ${PHP_MAX_DEPTH} levels`);
    out.push(`a:${value.length}:{`);
    for (let i = 0; i < value.length; i++) {
      out.push(`i:${i};`);
      writeValue(out, value[i], depth + 1);
    }
    out.push('}');
  } else if (isPlainObject(value)) {
    if (depth >= PHP_MAX_DEPTH) throw formatError(`nested deeper than ${PHP_MAX_DEPTH} levels`);
    const keys = Object.keys(value);
    out.push(`a:${keys.length}:{`);
    for (const key of keys) {
      if (isPhpIntegerKey(key)) out.push(`i:${key};`);
      else writeString(out, key);
      writeValue(out, value[key], depth + 1);
    }
    out.push('}');
  } else {
    throw formatError(`${typeName(value)} has no PHP serialize() form`);
  }
}

function writeString(out: string[], value: string): void {
  if (loneSurrogate.test(value)) throw formatError('a string holds a lone UTF-16 surrogate, which has no UTF-8 form');
  out.push(`s:${utf8Length(value)}:"`, value, '";');
}

/** UTF-8 length of a well-formed string, without allocating its bytes. */
function utf8Length(value: string): number {
  let bytes = value.length;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else {
      bytes += 2; // 3 bytes for 1 unit, or 4 bytes for a surrogate pair's 2 units
      if (unit >= 0xd800 && unit <= 0xdbff) i++;
    }
  }
  return bytes;
}

/** Plain objects only: a Date or a class instance would otherwise serialize as `a:0:{}`. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  // Realm-safe: some realm's Object.prototype is the object whose own prototype is null.
  return proto === null || Object.getPrototypeOf(proto) === null;
}

function typeName(value: unknown): string {
  if (typeof value === 'object' && value !== null) return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

/**
 * True when PHP stores `key` as an integer array key (`ZEND_HANDLE_NUMERIC_STR`): a canonical
 * decimal integer within PHP_INT range.
 *
 * @example
 * isPhpIntegerKey('-3'); // true
 * isPhpIntegerKey('05'); // false: stays a string key
 */
export function isPhpIntegerKey(key: string): boolean {
  if (!/^(?:0|-?[1-9][0-9]*)$/.test(key)) return false;
  if (key.length < 19) return true; // at most 18 digits: always within ±9.2e18
  if (key.length > 20) return false;
  const n = BigInt(key);
  return n >= PHP_INT_MIN && n <= PHP_INT_MAX;
}

/**
 * A float as PHP 8 writes it in `serialize()` and `var_export()` (the `d:` payload): shortest
 * round-trip digits, in `zend_gcvt`'s layout for precision 17 (see the header).
 *
 * @example
 * formatPhpFloat(1e25); // '1.0E+25'
 * formatPhpFloat(100);  // '100'
 */
export function formatPhpFloat(value: number): string {
  if (Number.isNaN(value)) return 'NAN';
  if (value === Infinity) return 'INF';
  if (value === -Infinity) return '-INF';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const sign = value < 0 ? '-' : '';
  // toExponential() without an argument gives the shortest digits that round-trip (ECMA-262
  // Number::toString's digit choice), the same digits as zend_dtoa mode 0.
  const [mantissa = '', exponentText = ''] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  // zend_gcvt's `decpt`: the value is 0.DIGITS × 10^decpt.
  const decpt = exponent + 1;
  if (decpt < -3 || decpt > 17) {
    return `${sign}${digits[0]}.${digits.length > 1 ? digits.slice(1) : '0'}E${exponent < 0 ? '-' : '+'}${Math.abs(exponent)}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (digits.length <= decpt) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

// ---------------------------------------------------------------------------------------------
// Reading

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const N = 0x4e, B = 0x62, I = 0x69, D = 0x64, S = 0x73, A = 0x61;
const COLON = 0x3a, SEMICOLON = 0x3b, QUOTE = 0x22, OPEN = 0x7b, CLOSE = 0x7d, PIPE = 0x7c;

/** What PHP writes after `i:`: canonical decimal (PHP never writes `-0`, `+1` or `01`). */
const integerToken = /^(?:0|-?[1-9][0-9]*)$/;
/** What PHP writes after `d:` (see {@link formatPhpFloat}). */
const floatToken = /^(?:-?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:E[+-][0-9]+)?|INF)|NAN)$/;
/** Lengths and element counts. */
const countToken = /^(?:0|[1-9][0-9]*)$/;

/** A cursor over the UTF-8 bytes of a serialized value. */
class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  fail(why: string): never {
    throw formatError(`not what PHP serialize() writes, at byte ${this.pos}: ${why}`);
  }

  expect(byte: number): void {
    if (this.pos >= this.bytes.length) this.fail(`truncated, expected '${String.fromCharCode(byte)}'`);
    if (this.bytes[this.pos] !== byte) this.fail(`expected '${String.fromCharCode(byte)}'`);
    this.pos++;
  }

  /** ASCII up to (not including) `end`, which is consumed. Tokens are short: stop looking early. */
  token(end: number): string {
    const start = this.pos;
    const limit = Math.min(this.bytes.length, start + 32);
    for (let i = start; i < limit; i++) {
      if (this.bytes[i] === end) {
        this.pos = i + 1;
        return String.fromCharCode(...this.bytes.subarray(start, i));
      }
    }
    if (limit === this.bytes.length) this.fail(`truncated, expected '${String.fromCharCode(end)}'`);
    return this.fail('token too long');
  }

  /** `count` raw bytes as a UTF-8 string. */
  utf8(count: number): string {
    if (this.pos + count > this.bytes.length) this.fail('truncated string (length beyond the end)');
    const slice = this.bytes.subarray(this.pos, this.pos + count);
    let text: string;
    try {
      text = strictUtf8.decode(slice);
    } catch {
      return this.fail('string bytes are not UTF-8 (or its length is wrong)');
    }
    this.pos += count;
    return text;
  }
}

function readerFor(text: string | Uint8Array): Reader {
  if (typeof text === 'string') {
    if (loneSurrogate.test(text)) throw formatError('text holds a lone UTF-16 surrogate');
    return new Reader(utf8.encode(text));
  }
  return new Reader(text);
}

/**
 * Reads one value written by PHP's `serialize()` (strictly: see the header for what is refused).
 * `text` may be the UTF-8 bytes themselves, as a store returns them; lengths count those bytes.
 *
 * @throws TesseraError `ERR_PROJECTION_FORMAT` when `text` is not exactly one such value.
 * @example
 * unserializePhp('a:2:{i:0;s:2:"é";i:1;d:0.5;}'); // ['é', 0.5]
 * unserializePhp('a:1:{i:5;b:1;}');              // { '5': true }
 */
export function unserializePhp(text: string | Uint8Array): PhpValue {
  const reader = readerFor(text);
  const value = readValue(reader, 0);
  if (!reader.done) reader.fail('text after the value');
  return value;
}

function readValue(reader: Reader, depth: number): PhpValue {
  if (reader.done) reader.fail('truncated, expected a value');
  const tag = reader.bytes[reader.pos];
  switch (tag) {
    case N:
      reader.pos++;
      reader.expect(SEMICOLON);
      return null;
    case B: {
      reader.pos++;
      reader.expect(COLON);
      const token = reader.token(SEMICOLON);
      if (token !== '0' && token !== '1') reader.fail(`boolean '${token}'`);
      return token === '1';
    }
    case I:
      reader.pos++;
      reader.expect(COLON);
      return readInteger(reader, reader.token(SEMICOLON));
    case D: {
      reader.pos++;
      reader.expect(COLON);
      const token = reader.token(SEMICOLON);
      if (!floatToken.test(token)) reader.fail(`float '${token}'`);
      if (token === 'NAN') return NaN;
      if (token.endsWith('INF')) return token.startsWith('-') ? -Infinity : Infinity;
      return Number(token);
    }
    case S:
      reader.pos++;
      return readStringBody(reader);
    case A:
      reader.pos++;
      return readArray(reader, depth);
    default:
      return reader.fail(refusedTag(tag));
  }
}

function refusedTag(tag: number | undefined): string {
  switch (tag === undefined ? '' : String.fromCharCode(tag)) {
    case 'O':
    case 'C':
      return 'objects are not session data Tessera reads';
    case 'E':
      return 'enums are not session data Tessera reads';
    case 'r':
    case 'R':
      return 'references are not session data Tessera reads';
    default:
      return 'unknown type tag';
  }
}

function readInteger(reader: Reader, token: string): number {
  if (!integerToken.test(token)) reader.fail(`integer '${token}'`);
  const value = Number(token);
  // A larger PHP int has no exact JavaScript number: refuse rather than silently round it.
  if (!Number.isSafeInteger(value)) reader.fail(`integer ${token} is outside JavaScript's safe range`);
  return value;
}

/** After the `s`: `:LEN:"bytes";`. */
function readStringBody(reader: Reader): string {
  reader.expect(COLON);
  const length = reader.token(COLON);
  if (!countToken.test(length)) reader.fail(`string length '${length}'`);
  reader.expect(QUOTE);
  const value = reader.utf8(Number(length));
  reader.expect(QUOTE);
  reader.expect(SEMICOLON);
  return value;
}

/** After the `a`: `:N:{…}`; a list (keys exactly 0…N-1 in order) becomes an array. */
function readArray(reader: Reader, depth: number): PhpValue[] | { [key: string]: PhpValue } {
  if (depth >= PHP_MAX_DEPTH) reader.fail(`nested deeper than ${PHP_MAX_DEPTH} levels`);
  reader.expect(COLON);
  const countText = reader.token(COLON);
  if (!countToken.test(countText)) reader.fail(`element count '${countText}'`);
  const count = Number(countText);
  reader.expect(OPEN);
  const keys: string[] = [];
  const values: PhpValue[] = [];
  const seen = new Set<string>();
  let isList = true;
  for (let i = 0; i < count; i++) {
    const key = readKey(reader);
    if (seen.has(key)) reader.fail(`duplicate key '${key}'`);
    seen.add(key);
    if (key !== String(i)) isList = false;
    keys.push(key);
    values.push(readValue(reader, depth + 1));
  }
  reader.expect(CLOSE);
  if (isList) return values;
  return objectFrom(keys, values);
}

/** An array key, as the string a JavaScript object would use for it. */
function readKey(reader: Reader): string {
  if (reader.done) reader.fail('truncated, expected a key');
  const tag = reader.bytes[reader.pos];
  reader.pos++;
  if (tag === I) {
    reader.expect(COLON);
    const token = reader.token(SEMICOLON);
    if (!isPhpIntegerKey(token)) reader.fail(`integer key '${token}'`);
    return token;
  }
  if (tag === S) {
    const key = readStringBody(reader);
    // PHP would have stored this key as an integer and written `i:`; text that says otherwise
    // did not come from PHP, and reading it would make two spellings of one key.
    if (isPhpIntegerKey(key)) reader.fail(`string key '${key}' that PHP writes as an integer`);
    return key;
  }
  reader.pos--;
  return reader.fail('array key is neither i: nor s:');
}

/** Own data properties even for `__proto__`, which plain assignment would treat as the prototype. */
function objectFrom(keys: readonly string[], values: readonly PhpValue[]): { [key: string]: PhpValue } {
  const object: { [key: string]: PhpValue } = {};
  keys.forEach((key, i) => {
    Object.defineProperty(object, key, { value: values[i], enumerable: true, writable: true, configurable: true });
  });
  return object;
}

// ---------------------------------------------------------------------------------------------
// Session handlers

/**
 * A session as PHP's `php_serialize` handler stores it: `$_SESSION` serialized as one array.
 *
 * @throws TesseraError `ERR_PROJECTION_FORMAT` as {@link serializePhp}, and when `data` is not a plain object.
 * @example
 * encodePhpSerializeSession({ user_id: 7 }); // 'a:1:{s:7:"user_id";i:7;}'
 * encodePhpSerializeSession({});             // 'a:0:{}'
 */
export function encodePhpSerializeSession(data: Record<string, PhpValue>): string {
  if (!isPlainObject(data)) throw formatError('session data must be a plain object');
  return serializePhp(data);
}

/**
 * Reads what PHP's `php_serialize` handler stored.
 *
 * @throws TesseraError `ERR_PROJECTION_FORMAT` when `text` is not one serialized array.
 * @example
 * decodePhpSerializeSession('a:1:{s:7:"user_id";i:7;}'); // { user_id: 7 }
 */
export function decodePhpSerializeSession(text: string | Uint8Array): Record<string, PhpValue> {
  const reader = readerFor(text);
  if (reader.bytes[0] !== A) reader.fail('a php_serialize session is an array (a:)');
  const value = readValue(reader, 0);
  if (!reader.done) reader.fail('text after the value');
  if (!Array.isArray(value)) return value as Record<string, PhpValue>;
  // $_SESSION with keys 0…n-1 (or none) read as a list; a session is always keyed by name.
  return objectFrom(value.map((_, i) => String(i)), value);
}

/**
 * A session as PHP's default `php` handler stores it: `name|serialized` for each variable.
 *
 * @throws TesseraError `ERR_PROJECTION_FORMAT` as {@link serializePhp}, and for a name PHP cannot
 * store: one holding `|` or `!`, or an integer-like name (PHP skips those).
 * @example
 * encodePhpSession({ user_id: 7, name: 'é' }); // 'user_id|i:7;name|s:2:"é";'
 * encodePhpSession({});                        // ''
 */
export function encodePhpSession(data: Record<string, PhpValue>): string {
  if (!isPlainObject(data)) throw formatError('session data must be a plain object');
  const out: string[] = [];
  for (const name of Object.keys(data)) {
    checkSessionName(name, (why) => {
      throw formatError(`session variable '${name}' cannot be stored by the php handler: ${why}`);
    });
    out.push(name, '|');
    writeValue(out, data[name], 0);
  }
  return out.join('');
}

/**
 * Reads what PHP's `php` handler stored.
 *
 * @throws TesseraError `ERR_PROJECTION_FORMAT` when `text` is not a run of `name|value` pairs, or
 * holds a name {@link encodePhpSession} would refuse or the same name twice.
 * @example
 * decodePhpSession('user_id|i:7;name|s:2:"é";'); // { user_id: 7, name: 'é' }
 */
export function decodePhpSession(text: string | Uint8Array): Record<string, PhpValue> {
  const reader = readerFor(text);
  const names: string[] = [];
  const values: PhpValue[] = [];
  const seen = new Set<string>();
  while (!reader.done) {
    const pipe = reader.bytes.indexOf(PIPE, reader.pos);
    // PHP stops silently at a tail with no `|`; a strict reader says the text is cut.
    if (pipe < 0) reader.fail("truncated, expected 'name|'");
    const name = reader.utf8(pipe - reader.pos);
    checkSessionName(name, (why) => reader.fail(`session variable '${name}': ${why}`));
    if (seen.has(name)) reader.fail(`duplicate session variable '${name}'`);
    seen.add(name);
    reader.pos = pipe + 1;
    names.push(name);
    values.push(readValue(reader, 0));
  }
  return objectFrom(names, values);
}

function checkSessionName(name: string, refuse: (why: string) => never): void {
  if (name.includes('|')) refuse("'|' separates names from values");
  if (name.includes('!')) refuse("'!' marks an undefined variable in older PHP");
  if (isPhpIntegerKey(name)) refuse('PHP skips integer session names');
}
