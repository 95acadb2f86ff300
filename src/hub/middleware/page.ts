/**
 * For routes that render HTML: a fresh CSP nonce per response and the page CSP that uses it.
 * `form-action` lists the hub and the configured sites: Chrome applies it to the redirect that
 * follows a form post, and after login the hub may send the browser on to a site.
 */
import type { Context, Middleware } from 'koa';
import { RandomPool } from '../../core/random-pool';
import { layout, type PageOptions } from '../views/layout';

declare module 'koa' {
  interface DefaultState {
    cspNonce: string;
  }
}

/** 128-bit nonces, each used once, from a pool (see src/core/random-pool.ts for why that is safe). */
const nonces = new RandomPool();

export function pageSecurity(siteOrigins: readonly string[]): Middleware {
  const sites = siteOrigins.join(' ');
  const formAction = ["'self'", ...siteOrigins].join(' ');
  // The policy around the nonce is the same for every page: built once.
  const before = `default-src 'none'; style-src 'self'; img-src 'self' ${sites}; script-src 'nonce-`;
  const after = `' ${sites}; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`;
  return async function setPageCsp(ctx, next) {
    const nonce = nonces.take(16, 'base64');
    ctx.state.cspNonce = nonce;
    ctx.set('Content-Security-Policy', before + nonce + after);
    await next();
  };
}

/** Renders a full page into the response; pages are per-user and never cached. */
export function renderPage(ctx: Context, options: Omit<PageOptions, 'nonce' | 'signedInAs'>, status = 200): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  const user = ctx.state.session?.user ?? null;
  ctx.body = layout({ ...options, nonce: ctx.state.cspNonce, signedInAs: user ? (user.name ?? user.email) : null });
}
