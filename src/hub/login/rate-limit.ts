/**
 * Brute-force limits on login (SECURITY.md "Login and e-mail"): every attempt counts against
 * the client address; failed password attempts count against the account. Both answer 429 with
 * `Retry-After` and the same body, whether or not the account exists.
 */
import { isIPv6 } from 'node:net';
import type { Context } from 'koa';
import { TesseraError } from '../../core/errors';
import type { RateLimitResult } from '../../ports';
import type { HubDeps } from '../deps';

export function refuseWhenLimited(ctx: Context, result: RateLimitResult, scope: 'address' | 'account'): void {
  if (result.allowed) return;
  ctx.set('Retry-After', String(Math.max(1, Math.ceil(result.retryAfterSeconds))));
  ctx.state.log.warn({ event: 'login', result: 'rate-limited', scope, code: 'ERR_RATE_LIMITED' }, 'login rate limit reached');
  throw new TesseraError('ERR_RATE_LIMITED', 'Too many attempts. Wait a moment and try again.');
}

/**
 * The client as the per-address limit counts it. An IPv6 host chooses the low 64 bits of its
 * address itself (RFC 4941 privacy addresses, or as many as it cares to configure), so keyed by
 * the whole address every attempt could bring a fresh budget: an IPv6 client is its /64. An
 * IPv4-mapped address (`::ffff:198.51.100.7`, how a dual-stack socket or a proxy may write an
 * IPv4 client) is that IPv4 address.
 */
export function addressLimitKey(ctx: Context): string {
  const ip = ctx.ip.replace(/%.*$/, '');
  if (!isIPv6(ip)) return ctx.ip || 'unknown';
  const groups = ipv6Groups(ip);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted quad folded in). */
function ipv6Groups(ip: string): number[] {
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  const text = quad === null ? ip : `${ip.slice(0, quad.index)}${((Number(quad[1]) << 8) | Number(quad[2])).toString(16)}:${((Number(quad[3]) << 8) | Number(quad[4])).toString(16)}`;
  const parse = (part: string | undefined) => (part === undefined || part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const [head, tail] = text.split('::');
  if (tail === undefined) return parse(head);
  const before = parse(head);
  const after = parse(tail);
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
}

/**
 * Counts one guess at an account's secret (password, code) against the per-address and then the
 * per-account budget (`accountKey`: the normalised e-mail address), before the guess is checked:
 * counted after a failure, guesses sent in parallel would all pass the budget. Throws
 * `ERR_RATE_LIMITED` beyond either. A success resets the account budget (the caller's).
 */
export async function countAttempt(ctx: Context, deps: Pick<HubDeps, 'limits'>, accountKey: string): Promise<void> {
  refuseWhenLimited(ctx, await deps.limits.perAddress.consume(addressLimitKey(ctx)), 'address');
  refuseWhenLimited(ctx, await deps.limits.perAccount.consume(accountKey), 'account');
}
