/**
 * Where a receiver sends the browser after `start` or `accept`: `return_to` only when it is on
 * exactly this site's origin after WHATWG parsing (relative paths resolve against the site),
 * else the site's home page. Never the Referer, never a URL built from `Host` (SECURITY.md).
 */
import type { Site } from '../../config/schema';

export function returnTarget(site: Site, returnTo: unknown): string {
  if (typeof returnTo !== 'string' || returnTo === '') return `${site.origin}/`;
  let url: URL;
  try {
    url = new URL(returnTo, site.origin);
  } catch {
    return `${site.origin}/`;
  }
  return url.origin === site.origin && url.username === '' && url.password === '' ? url.href : `${site.origin}/`;
}
