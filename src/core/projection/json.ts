/**
 * The `json` projection format: the session as one UTF-8 JSON object, for sites in any language
 * that can read JSON from the store (Python, Go, …). Same values and same refusals as the PHP
 * formats ({@link PhpValue}), so the receiver can switch formats without the data changing shape.
 *
 * JSON has no NaN, Infinity or `-0`: NaN and the infinities are refused (JSON.stringify would
 * write `null`), `-0` is written `0`. Duplicate member names are refused on reading
 * (src/core/tokens/strict-json.ts), as a second reader might keep the other one.
 */
import { TesseraError } from '../errors';
import { parseJsonObject } from '../tokens/strict-json';
import { PHP_MAX_DEPTH, type PhpValue } from './php';

const loneSurrogate = /[\uD800-\uDFFF]/u;

function formatError(message: string): TesseraError {
  return new TesseraError('ERR_PROJECTION_FORMAT', message);
}

/**
 * `data` as a JSON object.
 *
 * @throws TesseraError `ERR_PROJECTION_FORMAT` for a value JSON cannot carry exactly (NaN,
 * Infinity, undefined, bigint, class instances, lone surrogates) or nesting deeper than
 * {@link PHP_MAX_DEPTH}.
 * @example
 * encodeJsonSession({ user_id: 7, roles: ['admin'] }); // '{"user_id":7,"roles":["admin"]}'
 */
export function encodeJsonSession(data: Record<string, PhpValue>): string {
  if (!isPlainObject(data)) throw formatError('session data must be a plain object');
  checkValue(data, 0);
  return JSON.stringify(data);
}

/**
 * Reads a JSON session object.
 *
 * @throws TesseraError `ERR_PROJECTION_FORMAT` when `text` is not one JSON object, or repeats a
 * member name.
 * @example
 * decodeJsonSession('{"user_id":7}'); // { user_id: 7 }
 */
export function decodeJsonSession(text: string): Record<string, PhpValue> {
  const parsed = parseJsonObject(text);
  if (!parsed.ok) {
    throw formatError(parsed.reason === 'duplicate' ? `JSON session repeats member '${parsed.member ?? '?'}'` : 'JSON session is not one JSON object');
  }
  checkValue(parsed.value, 0);
  return parsed.value as Record<string, PhpValue>;
}

/** Refuses anything JSON.stringify would drop, change or call `toJSON` on. */
function checkValue(value: unknown, depth: number): void {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw formatError(`${value} has no JSON form`);
    return;
  }
  if (typeof value === 'string') {
    checkString(value);
    return;
  }
  if (depth >= PHP_MAX_DEPTH) throw formatError(`nested deeper than ${PHP_MAX_DEPTH} levels`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkValue(value[i], depth + 1);
    return;
  }
  if (isPlainObject(value)) {
    for (const key of Object.keys(value)) {
      checkString(key);
      checkValue(value[key], depth + 1);
    }
    return;
  }
  throw formatError(`${typeof value === 'object' ? ((value as object).constructor?.name ?? 'object') : typeof value} has no JSON session form`);
}

function checkString(value: string): void {
  // JSON.stringify would escape it as \udXXX, which PHP's json_decode and most parsers refuse.
  if (loneSurrogate.test(value)) throw formatError('a string holds a lone UTF-16 surrogate, which has no UTF-8 form');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}
