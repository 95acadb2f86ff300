/**
 * The redirect bounce, site side (DESIGN.md "The flows", 3): before sending the browser to
 *
 *   <hub>/handoff?dst=<site origin>&return_to=<url on this site>&state=<state>&prompt=none|login
 *
 * the site sets a random `state` cookie; `accept` takes the token only when the `state` that
 * comes back equals it (a token the visitor did not ask for is never adopted: login CSRF).
 * When the hub answers `login_required`, a `nobounce` cookie stops further bounces for a while,
 * so a signed-out visitor is never caught in a redirect loop.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import { TesseraError } from '../core/errors';
import { NO_BOUNCE_COOKIE, STATE_COOKIE, STATE_COOKIE_SECONDS, readCookie, setReceiverCookie } from './cookies';
import type { ResolvedOptions } from './options';

export type Prompt = 'none' | 'login';

/**
 * `value` as an absolute URL when it is on this site's exact origin (WHATWG parsing; a path is
 * taken relative to the site) and carries no userinfo, else the site's root. Never a URL
 * elsewhere: no open redirect. Userinfo (`https://user:pass@www.example.org/`) is refused as at
 * the hub (src/hub/receiver/return-target.ts): a redirect must not plant credentials in a URL.
 */
export function returnToOnSite(value: unknown, siteOrigin: string): string {
  const fallback = `${siteOrigin}/`;
  if (typeof value !== 'string' || value === '') return fallback;
  try {
    const url = new URL(value, fallback);
    return url.origin === siteOrigin && url.username === '' && url.password === '' ? url.href : fallback;
  } catch {
    return fallback;
  }
}

/**
 * Secure cookies need a request Koa counts as HTTPS. Checked before any token work, with a
 * message that says what to change.
 */
export function requireSecure(ctx: Koa.Context): void {
  if (!ctx.secure) {
    throw new TesseraError(
      'ERR_CONFIG_INVALID',
      'the request did not arrive over HTTPS, so no Secure cookie can be set: serve the site over HTTPS, or behind a TLS-terminating proxy set app.proxy = true (handler(): trustProxy: true)',
    );
  }
}

/** Sets the state cookie and answers 303 to the hub's `/handoff`. */
export function bounce(options: ResolvedOptions, ctx: Koa.Context, returnTo: string, prompt: Prompt): void {
  requireSecure(ctx);
  const state = randomBytes(32).toString('base64url');
  setReceiverCookie(ctx, { name: STATE_COOKIE, value: state, path: options.prefix, sameSite: 'None', maxAge: STATE_COOKIE_SECONDS });
  const query = new URLSearchParams({ dst: options.siteOrigin, return_to: returnTo, state, prompt });
  seeOther(ctx, `${options.hubUrl}/handoff?${query.toString()}`);
}

/** Throws `ERR_HANDOFF_STATE` unless `presented` equals the state cookie (compared in constant time). */
export function checkState(ctx: Koa.Context, presented: unknown): void {
  const expected = readCookie(ctx, STATE_COOKIE);
  if (expected === undefined || typeof presented !== 'string' || presented === '') {
    throw new TesseraError('ERR_HANDOFF_STATE', 'state missing');
  }
  // Hashing first gives equal lengths, so the comparison leaks nothing, not even the length.
  const digest = (value: string) => createHash('sha256').update(value).digest();
  if (!timingSafeEqual(digest(expected), digest(presented))) throw new TesseraError('ERR_HANDOFF_STATE', 'state does not match');
}

/** The state is single-use: forgotten once the bounce came back. */
export function clearState(options: ResolvedOptions, ctx: Koa.Context): void {
  setReceiverCookie(ctx, { name: STATE_COOKIE, value: '', path: options.prefix, sameSite: 'None', maxAge: 0 });
}

/** After `login_required`: no more `prompt=none` bounces for `noBounceSeconds`. */
export function suppressBounces(options: ResolvedOptions, ctx: Koa.Context): void {
  setReceiverCookie(ctx, { name: NO_BOUNCE_COOKIE, value: '1', path: '/', sameSite: 'Lax', maxAge: options.noBounceSeconds });
}

export function bouncesSuppressed(ctx: Koa.Context): boolean {
  return readCookie(ctx, NO_BOUNCE_COOKIE) !== undefined;
}

/** 303 See Other: after a POST the browser follows with a GET. */
export function seeOther(ctx: Koa.Context, url: string): void {
  ctx.redirect(url);
  ctx.status = 303;
}
