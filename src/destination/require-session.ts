/**
 * `requireSession()`: for a visitor with no shared session here, bounce once through the hub
 * (`prompt=none` by default: signed in at the hub, they come straight back signed in here).
 * It never loops: after the hub said `login_required` it lets the request through anonymous
 * (or answers 401), and it bounces only top-level GET navigations, never a fetch or a form
 * POST, which could not follow a redirect to another site.
 */
import type Koa from 'koa';
import { TesseraError } from '../core/errors';
import { bounce, bouncesSuppressed, type Prompt } from './bounce';
import type { ResolvedOptions } from './options';

export interface RequireSessionOptions {
  /** `none` (default): come back anonymous when not signed in at the hub; `login`: the hub asks to sign in. */
  prompt?: Prompt;
  /** When no bounce happens and there is no session: `allow` (default) calls the next middleware anonymous, `reject` answers 401. */
  anonymous?: 'allow' | 'reject';
}

export function requireSessionMiddleware(options: ResolvedOptions, settings: RequireSessionOptions = {}): Koa.Middleware {
  const { prompt = 'none', anonymous = 'allow' } = settings;
  if (prompt !== 'none' && prompt !== 'login') throw new TesseraError('ERR_CONFIG_INVALID', 'requireSession: "prompt" must be none or login');
  if (anonymous !== 'allow' && anonymous !== 'reject') throw new TesseraError('ERR_CONFIG_INVALID', 'requireSession: "anonymous" must be allow or reject');
  return async (ctx, next) => {
    const tessera: unknown = ctx.state.tessera;
    if (tessera === undefined) throw new TesseraError('ERR_CONFIG_INVALID', 'requireSession() must be mounted after middleware()');
    if (tessera !== null) return next();
    if (isNavigation(ctx) && !(prompt === 'none' && bouncesSuppressed(ctx))) {
      bounce(options, ctx, `${options.siteOrigin}${ctx.originalUrl}`, prompt);
      return;
    }
    if (anonymous === 'reject') {
      ctx.status = 401;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'Not signed in.\n';
      return;
    }
    return next();
  };
}

/** A top-level GET navigation (browsers without Fetch Metadata count as one). */
function isNavigation(ctx: Koa.Context): boolean {
  const mode = ctx.get('Sec-Fetch-Mode');
  return (ctx.method === 'GET' || ctx.method === 'HEAD') && (mode === '' || mode === 'navigate');
}
