/**
 * `GET <prefix>loader.js`, the page authors' one-line snippet:
 *
 *   <script async src="/shared-session/loader.js"></script>
 *
 * For a visitor with a shared session here, a tiny script that appends beacons for the sites
 * that do not hold it yet; otherwise (no session, every site holds it, no credential, hub
 * unreachable) an empty body, so the page never sees an error.
 *
 * The hub mints beacons only for a session it knows this site holds. So a link report that did
 * not reach the hub when the session was set (its proof kept in the session, link-report.ts) is
 * made again first; once the hub has answered it, recorded or refused, the proof is dropped.
 */
import type Koa from 'koa';
import { renderLoaderScript } from '../../core/receiver/loader';
import type { DestinationDeps } from '../deps';
import { sessionOf, type StoredTessera, type TesseraState } from '../session';

export async function answerLoader(deps: DestinationDeps, ctx: Koa.Context): Promise<void> {
  const tessera = ctx.state.tessera as TesseraState | null;
  if (tessera !== null) await reportKeptProof(deps, ctx, tessera.sid);
  const beacons = tessera === null ? [] : await deps.beacons.beaconsFor(tessera.sid);
  ctx.status = 200;
  ctx.type = 'application/javascript; charset=utf-8';
  ctx.body = renderLoaderScript(beacons);
}

async function reportKeptProof(deps: DestinationDeps, ctx: Koa.Context, sid: string): Promise<void> {
  const stored = sessionOf(ctx)?.tessera as StoredTessera | undefined;
  const proof = stored?.linkProof;
  if (typeof proof !== 'string' || !deps.hub.enabled) return;
  const outcome = await deps.links.attempt(sid, proof);
  if (outcome === 'unreachable') return;
  // koa-session saves the session without it.
  delete stored!.linkProof;
  if (outcome === 'recorded') deps.beacons.forget(sid);
}
