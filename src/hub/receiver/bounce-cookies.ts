/**
 * The two cookies of the redirect bounce on a site whose receiver is the hub (DESIGN.md "The
 * flows", 3):
 * - `tessera_state`: a random value set by `start` and sent to the hub as `state`; `accept`
 *   requires the two to match, so a token (or a `login_required`) can only land in the browser
 *   that started the bounce (login CSRF). Scoped to the receiver path and short-lived;
 *   `SameSite=None` because the form_post return is a cross-site POST.
 * - `tessera_nobounce`: after the hub answered `login_required`, `start` with `prompt=none`
 *   sends the browser straight back for a while instead of bouncing again (no redirect loops).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { Site } from '../../config/schema';
import { clearCookie, setCookie, type CookieAttributes } from '../cookies';

export const STATE_COOKIE = 'tessera_state';
export const NO_BOUNCE_COOKIE = 'tessera_nobounce';

/** What `/handoff` accepts as `state`; our own values are 43 characters of this alphabet. */
export const STATE_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

const stateAttributes = (site: Site): CookieAttributes => ({ httpOnly: true, secure: true, sameSite: 'none', path: site.receiverPath });
const noBounceAttributes: CookieAttributes = { httpOnly: true, secure: true, sameSite: 'lax', path: '/' };

/** Sets a fresh state cookie and returns its value, to send to the hub as `state`. */
export function startState(ctx: Context, site: Site, seconds: number): string {
  const state = randomBytes(32).toString('base64url');
  setCookie(ctx, STATE_COOKIE, state, { ...stateAttributes(site), maxAge: seconds });
  return state;
}

/** True when `presented` equals the state cookie (constant time). */
export function stateMatches(ctx: Context, presented: string): boolean {
  const expected = ctx.cookies.get(STATE_COOKIE);
  if (expected === undefined || !STATE_PATTERN.test(expected) || !STATE_PATTERN.test(presented)) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The state is single use: cleared once the bounce has returned. */
export function endState(ctx: Context, site: Site): void {
  clearCookie(ctx, STATE_COOKIE, stateAttributes(site));
}

export function holdBounces(ctx: Context, seconds: number): void {
  setCookie(ctx, NO_BOUNCE_COOKIE, '1', { ...noBounceAttributes, maxAge: seconds });
}

export function bouncesHeld(ctx: Context): boolean {
  return ctx.cookies.get(NO_BOUNCE_COOKIE) === '1';
}

/** After a successful handoff the hold has done its job. */
export function releaseBounces(ctx: Context): void {
  if (ctx.cookies.get(NO_BOUNCE_COOKIE) !== undefined) clearCookie(ctx, NO_BOUNCE_COOKIE, noBounceAttributes);
}
