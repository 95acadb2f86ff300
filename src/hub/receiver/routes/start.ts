/**
 * `GET <receiverPath>start?return_to=…&prompt=none|login`: a page of the site with no session
 * sends the browser here to fetch one from the hub. Sets the `state` cookie and 303s to the hub's
 * `/handoff` (built from the configured `publicUrl`, never from `Host`). With `prompt=none` and
 * a recent `login_required` on record, it goes straight back instead: no bounce loops for
 * visitors who are not signed in. `prompt=login` always bounces: the person asked to sign in.
 */
import type { Context } from 'koa';
import type { Site } from '../../../config/schema';
import { TesseraError } from '../../../core/errors';
import type { HubDeps } from '../../deps';
import { bouncesHeld, startState } from '../bounce-cookies';
import { returnTarget } from '../return-target';

export function startRoute(deps: HubDeps) {
  return async function startBounce(ctx: Context, site: Site): Promise<void> {
    const prompt = ctx.query.prompt ?? 'none';
    if (prompt !== 'none' && prompt !== 'login') throw new TesseraError('ERR_BAD_REQUEST', 'prompt must be none or login');
    const target = returnTarget(site, ctx.query.return_to);
    ctx.status = 303;
    if (prompt === 'none' && bouncesHeld(ctx)) {
      ctx.redirect(target);
      return;
    }
    const state = startState(ctx, site, deps.config.handoff.stateCookieSeconds);
    const handoff = new URL('/handoff', deps.config.publicUrl);
    handoff.search = new URLSearchParams({ dst: site.origin, return_to: target, state, prompt }).toString();
    ctx.redirect(handoff.href);
  };
}
