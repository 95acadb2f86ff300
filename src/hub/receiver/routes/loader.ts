/**
 * `GET <receiverPath>loader.js`: the one-line snippet's script. For the session this browser
 * holds on the site, beacons for every other site that does not hold it yet, minted here with
 * `src` = this site's host (the page that embeds them); an empty body when there is no session
 * or every site holds it, so warm pages mint nothing. A live site session is in use: its idle
 * expiry slides (throttled) and its projections follow (`slideSession` in src/hub/middleware/session.ts).
 */
import type { Context } from 'koa';
import type { Site } from '../../../config/schema';
import { renderLoaderScript } from '../../../core/receiver/loader';
import type { HubDeps } from '../../deps';
import { holderOf, mintBeacons, sitesLacking } from '../../handoff/mint';
import { slideSession } from '../../middleware/session';
import { readSiteSession } from '../site-cookie';

export function loaderRoute(deps: HubDeps) {
  return async function serveLoader(ctx: Context, site: Site): Promise<void> {
    const current = (await readSiteSession(deps, site, ctx))?.current ?? null;
    const record = current === null ? null : await slideSession(deps, current.record);
    const lacking = record === null ? [] : sitesLacking(deps, record, site);
    // The user is looked up only when there is something to mint: the warm path is one store read.
    const holder = lacking.length === 0 ? null : await holderOf(deps, record!);
    ctx.type = 'application/javascript; charset=utf-8';
    ctx.body = holder === null ? '' : renderLoaderScript(await mintBeacons(deps, lacking, holder, new URL(site.origin).host));
  };
}
