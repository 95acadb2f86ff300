/**
 * Brute-force limits on login (SECURITY.md "Login and e-mail"): every attempt counts against
 * the client address; failed password attempts count against the account. Both answer 429 with
 * `Retry-After` and the same body, whether or not the account exists.
 */
import type { Context } from 'koa';
import { TesseraError } from '../../core/errors';
import type { RateLimitResult } from '../../ports';

export function refuseWhenLimited(ctx: Context, result: RateLimitResult, scope: 'address' | 'account'): void {
  if (result.allowed) return;
  ctx.set('Retry-After', String(Math.max(1, Math.ceil(result.retryAfterSeconds))));
  ctx.state.log.warn({ event: 'login', result: 'rate-limited', scope, code: 'ERR_RATE_LIMITED' }, 'login rate limit reached');
  throw new TesseraError('ERR_RATE_LIMITED', 'Too many attempts. Wait a moment and try again.');
}
