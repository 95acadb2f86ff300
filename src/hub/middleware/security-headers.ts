/**
 * Headers every hub response carries (SECURITY.md "Cookies and browser surface"). Pages that
 * render HTML add their own CSP with a per-request nonce; this default CSP forbids everything,
 * which is right for JSON, JWKS and redirects.
 */
import type { Middleware } from 'koa';

export function securityHeaders(options: { https: boolean }): Middleware {
  return async function setSecurityHeaders(ctx, next) {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (options.https) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    await next();
  };
}
