/**
 * `GET <prefix><token>.js` and `.gif`: a beacon embedded by a page on the hub or another site,
 * fetched as a cross-site sub-request. Accepted: 200 with a tiny script or a 1×1 GIF and, when
 * the session was set, the site's session cookie. Refused: 4xx, the same content type, no
 * cookie.
 */
import type Koa from 'koa';
import { beaconResponse, type BeaconKind } from '../../core/receiver/receiver';
import { requireSecure } from '../bounce';
import type { DestinationDeps } from '../deps';
import { takeSession, verifyForSite } from '../handoff';
import { logRejection } from '../rejection';

export async function answerBeacon(deps: DestinationDeps, ctx: Koa.Context, kind: BeaconKind, token: string): Promise<void> {
  let accepted = true;
  let status: number | null = null;
  try {
    requireSecure(ctx);
    const verified = await verifyForSite(deps, token, { referer: ctx.get('Referer') || undefined, origin: ctx.get('Origin') || undefined });
    await takeSession(deps, ctx, verified, token);
  } catch (err) {
    accepted = false;
    status = logRejection(deps.logger, kind === 'script' ? 'beacon.js' : 'beacon.gif', err).status;
  }
  const response = beaconResponse(kind, accepted);
  ctx.status = status ?? response.status;
  ctx.type = response.type;
  ctx.body = response.body;
}
