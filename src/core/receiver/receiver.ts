/**
 * What every receiver answers, whichever implementation serves it (the hub for a site routed to
 * it, or the destination SDK inside the site's own app): the paths under the receiver prefix,
 * the response bodies and headers, the Referer/Origin rule, and django-shared-session's
 * replacement semantics. Both implementations call these, so they answer identically.
 */
import { TesseraError } from '../errors';

/** The default mount point of a receiver on a site. */
export const DEFAULT_RECEIVER_PREFIX = '/shared-session/';

/** Headers on every receiver response (SECURITY.md: responses that set cookies or carry tokens). */
export const RECEIVER_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
});

/** A 1×1 transparent GIF (42 bytes), the body of an image beacon. */
export const TRANSPARENT_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** The body of a successful script beacon: valid JavaScript that does nothing. */
export const SCRIPT_BEACON_BODY = '/* tessera */\n';

export type BeaconKind = 'script' | 'image';

/** What a receiver path names. */
export type ReceiverRequest =
  | { route: 'beacon'; kind: BeaconKind; token: string }
  | { route: 'accept' }
  | { route: 'loader' }
  | { route: 'start' }
  | { route: 'session' }
  | { route: 'backchannel-logout' }
  | { route: 'logout' };

const tokenChars = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Parses a request path below the receiver prefix; null when it is not a receiver path.
 * Beacon tokens are taken from the path only when they have the shape of a compact JWS; the
 * verifier bounds their size before any decoding.
 */
export function parseReceiverPath(path: string, prefix: string = DEFAULT_RECEIVER_PREFIX): ReceiverRequest | null {
  if (!path.startsWith(prefix)) return null;
  const rest = path.slice(prefix.length);
  switch (rest) {
    case 'accept':
      return { route: 'accept' };
    case 'loader.js':
      return { route: 'loader' };
    case 'start':
      return { route: 'start' };
    case 'session.json':
      return { route: 'session' };
    case 'backchannel-logout':
      return { route: 'backchannel-logout' };
    case 'logout':
      return { route: 'logout' };
    default:
  }
  const kind: BeaconKind | null = rest.endsWith('.js') ? 'script' : rest.endsWith('.gif') ? 'image' : null;
  if (kind === null) return null;
  const token = rest.slice(0, rest.length - (kind === 'script' ? 3 : 4));
  return tokenChars.test(token) ? { route: 'beacon', kind, token } : null;
}

/** Status, type and body of a beacon answer. Failures carry no body worth executing. */
export function beaconResponse(kind: BeaconKind, accepted: boolean): { status: number; type: string; body: string | Buffer } {
  if (kind === 'image') return { status: accepted ? 200 : 400, type: 'image/gif', body: TRANSPARENT_GIF };
  return { status: accepted ? 200 : 400, type: 'application/javascript; charset=utf-8', body: accepted ? SCRIPT_BEACON_BODY : '' };
}

/**
 * When a request carries a `Referer` or `Origin`, its host must be the token's `src`: a token
 * minted for a beacon on page A cannot be replayed from page B. With `strict`, one of the two
 * headers is required. Beacons are fetched with `Referrer-Policy` of the embedding page, so an
 * operator whose pages send no referrer leaves `strict` off.
 */
export function checkEmbeddingPage(headers: { referer: string | undefined; origin: string | undefined }, src: string, strict: boolean): void {
  const value = headers.origin && headers.origin !== 'null' ? headers.origin : headers.referer;
  if (!value) {
    if (strict) throw new TesseraError('ERR_HANDOFF_REFERER', 'a Referer or Origin header is required', { claim: 'src' });
    return;
  }
  let host: string;
  try {
    host = new URL(value).host;
  } catch {
    throw new TesseraError('ERR_HANDOFF_REFERER', 'Referer/Origin is not a URL', { claim: 'src' });
  }
  if (host !== src) throw new TesseraError('ERR_HANDOFF_REFERER', 'Referer/Origin host is not the token src', { claim: 'src' });
}

/**
 * A sign-out form posted from the site's own page, as the browser tells it. That form carries
 * no CSRF token (the receiver renders no pages), so the browser's word is required, not merely
 * allowed: `Sec-Fetch-Site: same-origin`, or an `Origin` equal to the site's, and nothing that
 * contradicts it. A request with neither header (an old browser, a script) is refused: the
 * worst it could do is sign someone out, and a site's own "sign out" works in every browser
 * that sends them.
 */
export function isSameOriginForm(headers: { origin: string; fetchSite: string }, siteOrigin: string): boolean {
  const { origin, fetchSite } = headers;
  if (fetchSite !== '' && fetchSite !== 'same-origin') return false;
  // Chromium sends `Origin: null` from a page with a no-referrer policy; Sec-Fetch-Site vouches.
  if (origin !== '' && origin !== siteOrigin && !(origin === 'null' && fetchSite === 'same-origin')) return false;
  return fetchSite === 'same-origin' || origin === siteOrigin;
}

/** What a receiver does with the session it already holds for this browser. */
export interface ReplacementDecision {
  /** `keep`: leave the existing session alone (and set no cookie); `replace`: take the token's. */
  action: 'keep' | 'replace';
  /** True when the site held no live session before (for the `session_replaced` event). */
  wasEmpty: boolean;
}

/**
 * django-shared-session's semantics, which users rely on: an existing live session for the same
 * sid is left alone; a different live session is replaced only with `alwaysReplace`; a missing
 * or dead one is replaced.
 */
export function decideReplacement(existing: { sid: string; live: boolean } | null, incomingSid: string, alwaysReplace: boolean): ReplacementDecision {
  if (existing === null || !existing.live) return { action: 'replace', wasEmpty: true };
  if (existing.sid === incomingSid) return { action: 'keep', wasEmpty: false };
  return { action: alwaysReplace ? 'replace' : 'keep', wasEmpty: false };
}

/** The `session_replaced` event (emitted in-process, optionally POSTed to a webhook). */
export interface SessionReplacedEvent {
  type: 'session_replaced';
  /** Origin of the site whose session was set. */
  site: string;
  src: string;
  sid: string;
  wasEmpty: boolean;
  /** Unix seconds. */
  at: number;
}
