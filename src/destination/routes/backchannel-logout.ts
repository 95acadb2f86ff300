/**
 * `POST <prefix>backchannel-logout`: the hub's back-channel logout (OpenID Connect Back-Channel
 * Logout 1.0 §2.5–2.8), a form with one field, `logout_token`. A valid token ends every local
 * session of its sid and answers 200; a bad one (any `ERR_LOGOUT_*`, a replay included) answers
 * 400 `{"error":"invalid_request"}`. Trouble on this side (the JWKS or the store unreachable)
 * answers 5xx, which the hub's outbox retries. Never cached (RECEIVER_HEADERS).
 */
import type Koa from 'koa';
import type { DestinationDeps } from '../deps';
import { endLocally, verifyLogoutForSite } from '../logout';
import { logRejection } from '../rejection';
import { readForm } from './accept';

export async function answerBackchannelLogout(deps: DestinationDeps, ctx: Koa.Context): Promise<void> {
  try {
    const form = await readForm(ctx);
    const { claims } = await verifyLogoutForSite(deps, form.logout_token);
    const ended = await endLocally(deps, claims.sid);
    deps.logger.info({ sid: claims.sid, ended }, 'back-channel logout: local sessions ended');
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.body = {};
  } catch (err) {
    const { status } = logRejection(deps.logger, 'backchannel-logout', err);
    ctx.status = status < 500 ? 400 : status;
    ctx.type = 'application/json';
    ctx.body = status < 500 ? { error: 'invalid_request' } : { error: 'temporarily_unavailable' };
  }
}
