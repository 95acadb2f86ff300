/**
 * Authentication of site-to-hub API calls: `Authorization: Bearer <credential>`, where the
 * credential is a 256-bit random value the operator gave the site (`tessera sites credential`)
 * and the hub's configuration holds only its SHA-256 (`sites[].credentialHash`), so a leaked
 * config file cannot call the API. Every configured hash is compared in constant time, whichever
 * matches, so the answer time does not say how close a guess came. A missing or wrong credential
 * is a 401 `ERR_SITE_CREDENTIAL` with a `WWW-Authenticate` challenge (RFC 6750 §3).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Site } from '../../config/schema';
import { TesseraError } from '../../core/errors';

declare module 'koa' {
  interface DefaultState {
    /** The site whose credential authenticated this API request. */
    callingSite: Site;
  }
}

/**
 * RFC 6750 b64token, bounded so an oversize header is refused before hashing. The scheme name is
 * case-insensitive (RFC 9110 §11.1).
 */
const bearer = /^Bearer ([A-Za-z0-9\-._~+/]{16,512}=*)$/i;

/** The site `credential` belongs to, or null. */
export function siteForCredential(sites: readonly Site[], credential: string): Site | null {
  const presented = createHash('sha256').update(credential).digest();
  let found: Site | null = null;
  for (const site of sites) {
    if (site.credentialHash === null) continue;
    // No early exit: every configured hash is compared, match or not.
    if (timingSafeEqual(presented, Buffer.from(site.credentialHash, 'hex')) && found === null) found = site;
  }
  return found;
}

/** Puts the authenticated site in `ctx.state.callingSite`, or refuses the request. */
export function requireSiteCredential(sites: readonly Site[]): Middleware {
  return async function authenticateSite(ctx, next) {
    const match = bearer.exec(ctx.get('Authorization'));
    const site = match === null ? null : siteForCredential(sites, match[1]!);
    if (site === null) {
      ctx.set('WWW-Authenticate', 'Bearer realm="tessera"');
      throw new TesseraError('ERR_SITE_CREDENTIAL', 'Missing or wrong site credential');
    }
    ctx.state.callingSite = site;
    await next();
  };
}
