/**
 * `POST <receiverPath>accept` (form_post, the default) and `GET …/accept` (redirect mode): the
 * return leg of a bounce. The `state` must match the cookie `start` set, or nothing happens
 * (ERR_HANDOFF_STATE). Then either the hub said `login_required` — hold further `prompt=none`
 * bounces for `handoff.noBounceSeconds` and go back — or the token is accepted and the browser
 * goes on to `return_to`, as a first-party navigation that sets the site cookie in every browser.
 * A rejected token answers 4xx through the error handler, which logs its code.
 */
import type { Context } from 'koa';
import type { Site } from '../../../config/schema';
import { TesseraError } from '../../../core/errors';
import type { HubDeps } from '../../deps';
import { logRequestEvent } from '../../middleware/request-context';
import { tokenAcceptor } from '../accept-token';
import { endState, holdBounces, releaseBounces, stateMatches } from '../bounce-cookies';
import { returnTarget } from '../return-target';

function field(source: unknown, name: string): string {
  if (typeof source !== 'object' || source === null) return '';
  const value = (source as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : '';
}

export function acceptRoute(deps: HubDeps) {
  const acceptToken = tokenAcceptor(deps);
  return async function acceptBounce(ctx: Context, site: Site): Promise<void> {
    const input = ctx.method === 'POST' ? ctx.request.body : ctx.query;
    if (!stateMatches(ctx, field(input, 'state'))) throw new TesseraError('ERR_HANDOFF_STATE', 'This sign-in did not start in this browser. Go back and try again.');
    const target = returnTarget(site, field(input, 'return_to'));
    const error = field(input, 'error');
    if (error === 'login_required') {
      endState(ctx, site);
      holdBounces(ctx, deps.config.handoff.noBounceSeconds);
      ctx.state.log.info({ event: 'handoff', result: 'login_required', via: 'bounce', site: site.origin }, 'not signed in at the hub');
    } else {
      if (error !== '') throw new TesseraError('ERR_BAD_REQUEST', 'Unknown error from the hub');
      const { claims, outcome } = await acceptToken(ctx, site, field(input, 'token'), 'bounce');
      endState(ctx, site);
      releaseBounces(ctx);
      logRequestEvent(ctx, 'info', { event: 'handoff', result: 'accepted', via: 'bounce', outcome, site: site.origin, src: claims.src, sid: claims.sid }, 'handoff accepted');
    }
    ctx.status = 303;
    ctx.redirect(target);
  };
}
