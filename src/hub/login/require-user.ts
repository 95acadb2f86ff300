import type { Context, Next } from 'koa';
import { TesseraError } from '../../core/errors';

/**
 * Pages for signed-in people: a GET without a session goes to the login page and comes back;
 * anything else is a 401.
 */
export async function requireSignedIn(ctx: Context, next: Next): Promise<void> {
  if (ctx.state.session.user !== null) return next();
  if (ctx.method === 'GET') {
    ctx.status = 303;
    ctx.redirect(`/login?return_to=${encodeURIComponent(ctx.path)}`);
    return;
  }
  throw new TesseraError('ERR_NOT_SIGNED_IN', 'Sign in first.');
}
