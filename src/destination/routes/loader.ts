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
 * not reach the hub when the session was set (its proof kept in the session, kept-proof.ts) is
 * made again first (when the hub answers that the session has ended, it ends here and the
 * script is empty).
 */
import type Koa from 'koa';
import { renderLoaderScript } from '../../core/receiver/loader';
import type { DestinationDeps } from '../deps';
import { reportKeptProof } from '../kept-proof';
import type { TesseraState } from '../session';

export async function answerLoader(deps: DestinationDeps, ctx: Koa.Context): Promise<void> {
  const before = ctx.state.tessera as TesseraState | null;
  if (before !== null) await reportKeptProof(deps, ctx, before.sid);
  // Read again: null when the report found the session ended.
  const tessera = ctx.state.tessera as TesseraState | null;
  const beacons = tessera === null ? [] : await deps.beacons.beaconsFor(tessera.sid);
  ctx.status = 200;
  ctx.type = 'application/javascript; charset=utf-8';
  ctx.body = renderLoaderScript(beacons);
}
