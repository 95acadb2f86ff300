/**
 * `GET /login/link?token=…`: the page a magic link opens. It does NOT consume the token — mail
 * scanners and link previewers issue GETs — it shows a button that POSTs it, and names the
 * account the link signs into, so a link to someone else's account (login CSRF: the victim would
 * then work in the attacker's account) is recognisable before the click. A link the POST would
 * refuse gets the invalid-link page at once, as a spent or expired one does: one whose account is
 * gone or disabled, or mailed to an address the account no longer has (a link request racing an
 * e-mail change, see magic-link-consume.ts) — told by reads alone (the link by its token hash,
 * the account by id), so the GET still spends and changes nothing.
 */
import type { Context } from 'koa';
import { nowSeconds } from '../../core/clock';
import { normalizeEmail } from '../../core/users/normalize-email';
import type { MagicLinkGrant, UserRecord } from '../../ports';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { invalidLinkView, magicLinkLandingView } from '../views/login';
import { hashLinkToken, linkLifetimeMinutes } from './login-email';

export const linkTokenPattern = /^[A-Za-z0-9_-]{43}$/;

/**
 * Whether a sign-in link (read by this page, or spent by magic-link-consume.ts) still signs
 * `user` in: not when the link is unknown, the account gone or disabled, or the link was mailed
 * to an address the account no longer has (`addressChanged`, for the log).
 */
export function checkLink(grant: MagicLinkGrant | null, user: UserRecord | null): { ok: true; grant: MagicLinkGrant; user: UserRecord } | { ok: false; addressChanged: boolean } {
  if (grant === null || user === null || user.disabled) return { ok: false, addressChanged: false };
  if (normalizeEmail(grant.email) !== normalizeEmail(user.email)) return { ok: false, addressChanged: true };
  return { ok: true, grant, user };
}

export const magicLinkPage: RouteFactory = (deps) => ({
  name: 'magic-link-page',
  method: 'GET',
  kind: 'page',
  path: '/login/link',
  middleware: [
    async function showContinueButton(ctx: Context) {
      const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
      const pending = linkTokenPattern.test(token) ? await deps.users.peekMagicLink(hashLinkToken(token), nowSeconds(deps.clock)) : null;
      const user = pending === null ? null : await deps.users.findById(pending.userId);
      const link = checkLink(pending, user);
      if (!link.ok) {
        if (link.addressChanged) ctx.state.log.info({ event: 'login', method: 'magic-link', code: 'ERR_MAGIC_LINK_INVALID', reason: 'address-changed' }, 'magic link page: link no longer valid');
        renderPage(ctx, { title: 'Sign-in link not valid', body: invalidLinkView() }, 400);
        return;
      }
      renderPage(ctx, { title: 'Sign in', body: magicLinkLandingView({ csrf: ctx.state.sessionControl.csrfToken(), token, email: link.grant.email, expiresMinutes: linkLifetimeMinutes(deps) }) });
    },
  ],
});
