/**
 * The receiver's short-lived cookies, written by hand rather than through Koa's `ctx.cookies`,
 * which writes only `Expires`: a visitor whose clock runs ten minutes fast would see a
 * ten-minute state cookie expire on arrival. `Max-Age` counts from receipt, whatever the clock.
 *
 * - `tessera_state`: the bounce's CSRF state, `SameSite=None` because the hub returns by a
 *   cross-site form POST, `Path` the receiver prefix, 10 minutes.
 * - `tessera_nobounce`: set when the hub said `login_required`; while present, a page does not
 *   bounce this browser again (no redirect loops). `SameSite=Lax`, `Path=/`.
 */
import type { Context } from 'koa';

export const STATE_COOKIE = 'tessera_state';
export const NO_BOUNCE_COOKIE = 'tessera_nobounce';
export const STATE_COOKIE_SECONDS = 600;

export interface ReceiverCookie {
  name: string;
  value: string;
  path: string;
  sameSite: 'None' | 'Lax';
  /** Seconds; 0 deletes the cookie. */
  maxAge: number;
}

/** Appends a `HttpOnly; Secure` Set-Cookie header (values are base64url or `1`, never user input). */
export function setReceiverCookie(ctx: Context, cookie: ReceiverCookie): void {
  ctx.append('Set-Cookie', `${cookie.name}=${cookie.value}; Path=${cookie.path}; Max-Age=${cookie.maxAge}; HttpOnly; Secure; SameSite=${cookie.sameSite}`);
}

/** The cookie's value as the browser sent it, unsigned; undefined when absent. */
export function readCookie(ctx: Context, name: string): string | undefined {
  return ctx.cookies.get(name, { signed: false });
}
