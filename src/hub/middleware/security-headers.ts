/**
 * Headers every hub response carries (SECURITY.md "Cookies and browser surface"). Pages that
 * render HTML add their own CSP with a per-request nonce; this default CSP forbids everything,
 * which is right for JSON, JWKS and redirects.
 */
import type { Middleware } from 'koa';

export function securityHeaders(options: { https: boolean }): Middleware {
  // Fixed for the hub's lifetime: the list is built once and handed to Node as it is, without
  // Koa's per-call coercion (these run on every hub request).
  const headers: [string, string][] = [
    ['X-Content-Type-Options', 'nosniff'],
    ['Referrer-Policy', 'no-referrer'],
    ['X-Frame-Options', 'DENY'],
    ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"],
    ['Cross-Origin-Opener-Policy', 'same-origin'],
  ];
  if (options.https) headers.push(['Strict-Transport-Security', 'max-age=31536000; includeSubDomains']);
  // Not async: it has nothing to do after `next`, and an async frame per request is not free.
  return function setSecurityHeaders(ctx, next) {
    for (const [name, value] of headers) ctx.res.setHeader(name, value);
    return next();
  };
}
