/**
 * `GET <receiverPath><token>.js` and `.gif`: a beacon embedded by a page of the hub or of another
 * site. The answer is the shared beacon response (a do-nothing script or a 1×1 GIF); a rejected
 * token gets the failure variant, is logged once here with its reason code, and sets nothing.
 * Store failures are not caught: they answer 503 (fail closed) through the error handler.
 */
import type { Context } from 'koa';
import type { Site } from '../../../config/schema';
import { beaconResponse, type BeaconKind } from '../../../core/receiver/receiver';
import type { HubDeps } from '../../deps';
import { logRequestEvent } from '../../middleware/request-context';
import { tokenAcceptor } from '../accept-token';

function isClientRejection(err: unknown): err is { code: string; status: number } {
  const e = err as { code?: unknown; status?: unknown };
  return typeof e?.code === 'string' && typeof e.status === 'number' && e.status < 500;
}

export function beaconRoute(deps: HubDeps) {
  const acceptToken = tokenAcceptor(deps);
  return async function acceptBeacon(ctx: Context, site: Site, beacon: { kind: BeaconKind; token: string }): Promise<void> {
    let accepted = false;
    try {
      const { claims, outcome } = await acceptToken(ctx, site, beacon.token, 'beacon');
      logRequestEvent(ctx, 'info', { event: 'handoff', result: 'accepted', via: 'beacon', outcome, site: site.origin, src: claims.src, sid: claims.sid }, 'handoff accepted');
      accepted = true;
    } catch (err) {
      if (!isClientRejection(err)) throw err;
      logRequestEvent(ctx, 'warn', { event: 'handoff', result: 'rejected', via: 'beacon', site: site.origin, code: err.code }, 'handoff rejected');
    }
    const res = beaconResponse(beacon.kind, accepted);
    ctx.status = res.status;
    ctx.type = res.type;
    ctx.body = res.body;
  };
}
