/**
 * The session cookie the hub sets on a site whose receiver it is. Name and attributes come from
 * the site's configuration (default `tessera_session`, `HttpOnly; Secure; SameSite=None; Path=/`:
 * a beacon sets it from a cross-site sub-request). The value has the hub cookie's shape,
 * `sid.secret`, with a secret of the site's own: the store keeps its SHA-256 in the site link,
 * so a site cookie is worth nothing on the hub or on another site, and it dies with the session.
 * For a site with a projection the value is also the application's own session id, so it takes
 * the shape PHP accepts instead (src/core/projection/session-id.ts): the same sid and secret, in hex.
 */
import type { Context } from 'koa';
import type { Site } from '../../config/schema';
import { formatProjectedCookieValue, parseProjectedCookieValue } from '../../core/projection/session-id';
import { formatCookieValue, parseCookieValue, secretMatches } from '../../core/sessions/session';
import type { SessionRecord, SiteLink } from '../../ports';
import { setCookie, type CookieAttributes } from '../cookies';
import type { HubDeps } from '../deps';

/** What the browser's site cookie points at. */
export interface SiteSession {
  /** The sid the cookie names. */
  sid: string;
  /** The live session and this site's link, when the cookie's secret matches that link. */
  current: { record: SessionRecord; link: SiteLink } | null;
}

export function siteCookieAttributes(site: Site): CookieAttributes {
  const { cookie } = site;
  return { httpOnly: cookie.httpOnly, secure: cookie.secure, sameSite: cookie.sameSite, path: cookie.path, domain: cookie.domain, maxAge: cookie.maxAgeSeconds };
}

/** The site cookie value for `sid` and the site's `secret`, in the shape `site` uses. */
export function siteCookieValue(site: Site, sid: string, secret: string): string {
  return site.projection === null ? formatCookieValue(sid, secret) : formatProjectedCookieValue(sid, secret);
}

/**
 * Sid and secret of a site cookie value; null for anything not exactly in the shape `site` uses
 * (a `sid.secret` cookie on a projected site names no projection, so it counts as none: the next
 * handoff replaces it).
 */
export function parseSiteCookieValue(site: Site, value: string | undefined): { sid: string; secret: string } | null {
  return site.projection === null ? parseCookieValue(value) : parseProjectedCookieValue(value);
}

/** Sets the site cookie; `value` from {@link siteCookieValue}. */
export function writeSiteCookie(ctx: Context, site: Site, value: string): void {
  setCookie(ctx, site.cookie.name, value, siteCookieAttributes(site));
}

/**
 * The session this browser holds on `site`, or null when it sends no well-formed site cookie.
 * `current` is null when the session ended, the site's link is gone, or the secret does not
 * match the link's hash (a forged or stale cookie is never adopted).
 */
export async function readSiteSession(deps: HubDeps, site: Site, ctx: Context): Promise<SiteSession | null> {
  const parsed = parseSiteCookieValue(site, ctx.cookies.get(site.cookie.name));
  if (parsed === null) return null;
  const record = await deps.sessions.get(parsed.sid);
  const link = record?.sites.find((l) => l.site === site.origin) ?? null;
  const matches = link !== null && link.secretHash !== null && secretMatches(link.secretHash, parsed.secret);
  return { sid: parsed.sid, current: matches ? { record: record!, link } : null };
}
