/**
 * `GET /handoff?dst=…&return_to=…&state=…&prompt=none|login`: the hub's side of the redirect
 * bounce, the path that works with third-party cookies blocked (DESIGN.md "The flows", 3).
 *
 * `dst` must be a configured site and `return_to` on exactly its origin, else a 400 page: this
 * route never redirects to a URL it has not checked (SECURITY.md, redirect targets). `state` is
 * the site's, passed back untouched for the site to check against its cookie.
 *
 * With a hub session the token goes to the site's `accept` by an auto-submitting form POST
 * (`handoff.bounceResponse: form_post`, the token never in a URL) or a 303 with the token in the
 * query (`redirect`). Without one, `prompt=login` shows the login page and comes back here
 * afterwards; `prompt=none` answers `error=login_required` so the site shows its signed-out page.
 */
import type { Context } from 'koa';
import { TesseraError } from '../../core/errors';
import { mintForSite } from '../handoff/mint';
import { siteRegistry } from '../handoff/sites';
import { renderPage } from '../middleware/page';
import { STATE_PATTERN } from '../receiver/bounce-cookies';
import type { RouteFactory } from '../route';
import { autoSubmitScript, handoffFormView } from '../views/handoff';

function queryString(ctx: Context, name: string): string | null {
  const value = ctx.query[name];
  return typeof value === 'string' ? value : null;
}

export const handoffBounce: RouteFactory = (deps) => ({
  name: 'handoff-bounce',
  method: 'GET',
  kind: 'page',
  path: '/handoff',
  middleware: [
    function bounceToSite(ctx: Context) {
      const registry = siteRegistry(deps.config);
      const dst = queryString(ctx, 'dst');
      const site = dst === null ? null : registry.resolve(dst);
      if (site === null) throw new TesseraError('ERR_HANDOFF_NOT_A_SITE', 'That site is not one this sign-in service serves.');
      const returnTo = queryString(ctx, 'return_to');
      if (returnTo === null || !registry.isOnSite(returnTo, site)) throw new TesseraError('ERR_BAD_REQUEST', 'return_to must be a page of the site.');
      const state = queryString(ctx, 'state');
      if (state === null || !STATE_PATTERN.test(state)) throw new TesseraError('ERR_BAD_REQUEST', 'state is missing or malformed.');
      const prompt = queryString(ctx, 'prompt') ?? 'none';
      if (prompt !== 'none' && prompt !== 'login') throw new TesseraError('ERR_BAD_REQUEST', 'prompt must be none or login.');

      const accept = `${site.origin}${site.receiverPath}accept`;
      const record = ctx.state.sessionControl.record();
      const user = ctx.state.session.user;
      ctx.status = 303;
      if (record === null || (prompt === 'login' && user === null)) {
        if (prompt === 'login') {
          const again = new URLSearchParams({ dst: site.origin, return_to: returnTo, state, prompt });
          ctx.redirect(`/login?return_to=${encodeURIComponent(`/handoff?${again.toString()}`)}`);
        } else {
          ctx.redirect(`${accept}?${new URLSearchParams({ error: 'login_required', state, return_to: returnTo }).toString()}`);
        }
        return;
      }

      const token = mintForSite(deps, site, { record, user }, registry.hubHostName);
      ctx.state.log.info({ event: 'handoff', result: 'minted', via: 'bounce', site: site.origin, sid: record.sid }, 'handoff token sent');
      if (deps.config.handoff.bounceResponse === 'redirect') {
        ctx.redirect(`${accept}?${new URLSearchParams({ token, state, return_to: returnTo }).toString()}`);
        return;
      }
      renderPage(ctx, {
        title: `Continuing to ${site.name}`,
        body: handoffFormView({ action: accept, token, state, returnTo, siteName: site.name }),
        tail: autoSubmitScript(ctx.state.cspNonce),
      });
    },
  ],
});
