/**
 * Set-Cookie serialisation of our own: Koa's `ctx.cookies.set` refuses `Secure` cookies when
 * the hub sits behind a TLS-terminating proxy it was not told to trust, and we always want
 * `Secure` (SECURITY.md: never a session cookie without it). Reading uses `ctx.cookies.get`.
 */
import type { Context } from 'koa';

export interface CookieAttributes {
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'lax' | 'strict' | 'none';
  path: string;
  domain?: string | null;
  /** Seconds; absent → a browser-session cookie; 0 → delete now. */
  maxAge?: number | null;
}

const cookieNamePattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const cookieValuePattern = /^[!#$%&'()*+\-./0-9:<=>?@A-Z[\]^_`a-z{|}~]*$/;

export function serializeCookie(name: string, value: string, attrs: CookieAttributes): string {
  if (!cookieNamePattern.test(name)) throw new Error(`invalid cookie name ${JSON.stringify(name)}`);
  if (!cookieValuePattern.test(value)) throw new Error('invalid cookie value');
  const parts = [`${name}=${value}`, `Path=${attrs.path}`];
  if (attrs.domain) parts.push(`Domain=${attrs.domain}`);
  if (attrs.maxAge !== undefined && attrs.maxAge !== null) {
    parts.push(`Max-Age=${Math.max(0, Math.floor(attrs.maxAge))}`);
    if (attrs.maxAge <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  }
  if (attrs.httpOnly) parts.push('HttpOnly');
  if (attrs.secure) parts.push('Secure');
  parts.push(`SameSite=${attrs.sameSite === 'none' ? 'None' : attrs.sameSite === 'lax' ? 'Lax' : 'Strict'}`);
  return parts.join('; ');
}

/** Adds one Set-Cookie header, replacing an earlier one for the same name in this response. */
export function setCookie(ctx: Context, name: string, value: string, attrs: CookieAttributes): void {
  const existing = ctx.response.headers['set-cookie'];
  const list = (Array.isArray(existing) ? existing : typeof existing === 'string' ? [existing] : []).filter((c) => !c.startsWith(`${name}=`));
  list.push(serializeCookie(name, value, attrs));
  ctx.set('Set-Cookie', list);
  // A response that sets a cookie must never be stored by a cache (SECURITY.md).
  ctx.set('Cache-Control', 'no-store');
}

export function clearCookie(ctx: Context, name: string, attrs: Omit<CookieAttributes, 'maxAge'>): void {
  setCookie(ctx, name, '', { ...attrs, maxAge: 0 });
}
