/**
 * The site cookie of a site with a projection is also the site application's own session id:
 * PHP's redis handler reads `keyPrefix + $_COOKIE['PHPSESSID']` (DESIGN.md "hub as receiver").
 * So the value must be one PHP accepts as a session id, and it must still carry the session's
 * `sid` and the site's own secret, like every other site cookie (`sid.secret`).
 *
 * PHP's rule for a session id is 1 to 256 characters from `[A-Za-z0-9,-]` (ext/session
 * `php_session_valid_key`): the `files` handler refuses anything else in `session_start()`;
 * phpredis does not check (PHP 8.2), but an id that breaks the rule works by accident only. The
 * usual `sid.secret` breaks it with `.` and base64url's `_`, and PHP's own 6-bit alphabet needs `,`, which is not a
 * cookie-octet (RFC 6265 §4.1.1; PHP itself percent-encodes it in Set-Cookie). Hence: the bytes of
 * the sid and of the secret in lowercase hex, joined by `-`, which hex never contains:
 * 32 + 1 + 64 = 97 characters. Only lowercase is accepted, so each session has exactly one
 * cookie value and therefore one projection key.
 */
import { isSessionId } from '../sessions/session';

const projectedPattern = /^([0-9a-f]{32})-([0-9a-f]{64})$/;
const secretPattern = /^[A-Za-z0-9_-]{43}$/;

/**
 * The cookie value (and site session id) for `sid` and the site's `secret`, both base64url as
 * issued.
 *
 * @example
 * formatProjectedCookieValue(sid, secret); // '3f9c…e1-0b7d…44' (97 characters)
 */
export function formatProjectedCookieValue(sid: string, secret: string): string {
  if (!isSessionId(sid) || !secretPattern.test(secret)) throw new TypeError('not an issued sid and secret');
  return `${Buffer.from(sid, 'base64url').toString('hex')}-${Buffer.from(secret, 'base64url').toString('hex')}`;
}

/**
 * Sid and secret (base64url, as the store knows them) of a projected cookie value; null for
 * anything not shaped exactly as {@link formatProjectedCookieValue} writes it.
 */
export function parseProjectedCookieValue(value: string | undefined): { sid: string; secret: string } | null {
  const match = value === undefined ? null : projectedPattern.exec(value);
  if (match === null) return null;
  return { sid: Buffer.from(match[1]!, 'hex').toString('base64url'), secret: Buffer.from(match[2]!, 'hex').toString('base64url') };
}
