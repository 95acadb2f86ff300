/**
 * CSRF protection for the hub's own forms (SECURITY.md: token plus Origin / Sec-Fetch-Site).
 * Two independent checks, both required:
 * 1. the browser's own statement of where the request came from: `Sec-Fetch-Site` must be
 *    `same-origin` (or `none`, a user-initiated navigation) and `Origin`, when sent, must be
 *    the hub's public origin — a cross-site form post is refused even if it somehow had a token;
 * 2. the form's `_csrf` field must match the token bound to the session (session.ts).
 * Refusals are 403 with a stable code and change nothing: this runs before the route's work.
 */
import type { Middleware } from 'koa';
import { TesseraError } from '../../core/errors';
import { formField } from './body';

export function requireSameOrigin(hubOrigin: string): Middleware {
  return async function checkRequestOrigin(ctx, next) {
    const fetchSite = ctx.get('Sec-Fetch-Site');
    if (fetchSite !== '' && fetchSite !== 'same-origin' && fetchSite !== 'none') {
      throw new TesseraError('ERR_CROSS_SITE', 'Cross-site request refused');
    }
    const origin = ctx.get('Origin');
    // Chromium sends `Origin: null` on a form POST from a page whose referrer policy is
    // no-referrer, as every hub page's is; then only the browser's `Sec-Fetch-Site` can vouch.
    const opaqueSameOrigin = origin === 'null' && fetchSite === 'same-origin';
    if (origin !== '' && origin !== hubOrigin && !opaqueSameOrigin) throw new TesseraError('ERR_CROSS_SITE', 'Cross-site request refused');
    await next();
  };
}

export const requireCsrfToken: Middleware = async function checkCsrfToken(ctx, next) {
  if (!ctx.state.sessionControl.csrfValid(formField(ctx, '_csrf'))) {
    throw new TesseraError('ERR_CSRF', 'The form has expired. Reload the page and try again.');
  }
  await next();
};
