/**
 * `GET <prefix>start?return_to=<url on this site>&prompt=none|login`: starts a bounce through
 * the hub, for pages that link to it (a "sign in" link uses `prompt=login`). With `prompt=none`
 * (the default) and bounces suppressed after a `login_required`, it goes straight back to
 * `return_to` instead: no loops.
 */
import type Koa from 'koa';
import { TesseraError } from '../../core/errors';
import { bounce, bouncesSuppressed, returnToOnSite, seeOther, type Prompt } from '../bounce';
import type { DestinationDeps } from '../deps';
import { logRejection } from '../rejection';

export function answerStart(deps: DestinationDeps, ctx: Koa.Context): void {
  try {
    const { prompt = 'none', return_to: returnTo } = ctx.query;
    if (prompt !== 'none' && prompt !== 'login') throw new TesseraError('ERR_BAD_REQUEST', 'prompt must be none or login');
    const target = returnToOnSite(returnTo, deps.options.siteOrigin);
    if (prompt === 'none' && bouncesSuppressed(ctx)) seeOther(ctx, target);
    else bounce(deps.options, ctx, target, prompt satisfies Prompt);
  } catch (err) {
    const { code, status } = logRejection(deps.logger, 'start', err);
    ctx.status = status;
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = `The sign-in bounce could not start (${code}).\n`;
  }
}
