/**
 * `GET <receiverPath>session.json`: who is signed in on this site, for a site backend behind the
 * reverse proxy that forwards the visitor's cookie (the "no code" way to take part). Only the
 * identity claims the operator allows for the site. Anything but a live session whose link
 * matches the cookie's secret is a 401 `ERR_NOT_SIGNED_IN`. A live session is in use: its idle
 * expiry slides (throttled) and its projections follow (`slideSession` in src/hub/middleware/session.ts).
 */
import type { Context } from 'koa';
import type { Site } from '../../../config/schema';
import type { HubDeps } from '../../deps';
import { holderOf, identityClaims } from '../../handoff/mint';
import { slideSession } from '../../middleware/session';
import { readSiteSession } from '../site-cookie';

/**
 * The answer is serialised here, its type set as a plain header: `ctx.type` and an object body
 * each make Koa look the MIME type up again, a measurable share of this route's own CPU time
 * (bench/README.md, http-session-read).
 */
const JSON_TYPE = 'application/json; charset=utf-8';
const NOT_SIGNED_IN = JSON.stringify({ error: { code: 'ERR_NOT_SIGNED_IN', message: 'No session on this site' } });

export function sessionJsonRoute(deps: HubDeps) {
  return async function describeSession(ctx: Context, site: Site): Promise<void> {
    const current = (await readSiteSession(deps, site, ctx))?.current ?? null;
    const holder = current === null ? null : await holderOf(deps, current.record);
    const record = current === null || holder === null ? null : await slideSession(deps, current.record, holder.user);
    ctx.set('Content-Type', JSON_TYPE);
    if (current === null || holder === null || record === null) {
      ctx.status = 401;
      ctx.body = NOT_SIGNED_IN;
      return;
    }
    ctx.body = JSON.stringify({ sid: record.sid, sub: record.userId, ...identityClaims(site, holder.user), createdAt: record.createdAt, src: current.link.src });
  };
}
