/**
 * `POST /login/link`: consumes a magic link (single use, atomic in the store) and signs in (or,
 * with two-step sign-in on, goes on to the code: src/hub/login/two-step.ts).
 * An unknown, used or expired token, a disabled user, or a link mailed to an address the account
 * no longer has, all get the same 400 page. The last one: an e-mail change drops the pending
 * links, but a request that looked the account up just before the change stores its link just
 * after and mails it to the old address, whose reader may be whom the change shuts out.
 */
import type { Context } from 'koa';
import { nowSeconds } from '../../core/clock';
import { formField } from '../middleware/body';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import { renderPage } from '../middleware/page';
import { continueSignIn } from '../login/two-step';
import { addressLimitKey, refuseWhenLimited } from '../login/rate-limit';
import { recordAudit } from '../audit/record';
import type { RouteFactory } from '../route';
import { invalidLinkView } from '../views/login';
import { hashLinkToken } from './login-email';
import { checkLink, linkTokenPattern } from './magic-link-page';

export const magicLinkConsume: RouteFactory = (deps) => ({
  name: 'magic-link-consume',
  method: 'POST',
  kind: 'page',
  path: '/login/link',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireCsrfToken,
    async function consumeLink(ctx: Context) {
      refuseWhenLimited(ctx, await deps.limits.perAddress.consume(addressLimitKey(ctx)), 'address');
      const token = formField(ctx, 'token');
      const grant = linkTokenPattern.test(token) ? await deps.users.consumeMagicLink(hashLinkToken(token), nowSeconds(deps.clock)) : null;
      const user = grant === null ? null : await deps.users.findById(grant.userId);
      const link = checkLink(grant, user);
      if (!link.ok) {
        const reason = link.addressChanged ? 'address-changed' : undefined;
        ctx.state.log.info({ event: 'login', result: 'failure', method: 'magic-link', code: 'ERR_MAGIC_LINK_INVALID', reason }, 'magic link refused');
        deps.metrics.countLogin('magic-link', 'failure');
        recordAudit(deps.audit, ctx.state.log, { type: 'login.failure', userId: user?.id ?? null, ip: ctx.ip || null, reason: 'ERR_MAGIC_LINK_INVALID', details: { method: 'magic-link' } });
        renderPage(ctx, { title: 'Sign-in link not valid', body: invalidLinkView() }, 400);
        return;
      }
      await continueSignIn(ctx, deps, link.user, { method: 'magic-link', persistent: false, returnTo: link.grant.returnTo });
    },
  ],
});
