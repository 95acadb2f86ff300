/**
 * `POST /account/email/confirm`: changes the address the confirmation link names
 * (src/hub/login/email-change.ts), for the signed-in account it was made for. The pending
 * sign-in links, which went to the old address, are dropped; the change is audited
 * (`user.updated`, `change: email`) and the old address told. A link not valid for this account
 * now (expired, used, another account's, or older than the newest change asked for): 400
 * `ERR_MAGIC_LINK_INVALID`; an address another account took meanwhile: 409 `ERR_USER_EXISTS`
 * (the link is spent: ask for another). Either way nothing changes.
 */
import type { Context } from 'koa';
import { hasCode, TesseraError } from '../../core/errors';
import { emailChangedMessage } from '../../mail/templates';
import { recordAudit } from '../audit/record';
import { pendingEmailChange } from '../login/email-change';
import { requireSignedIn } from '../login/require-user';
import { formField } from '../middleware/body';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { emailLinkInvalidView } from '../views/email-change';

export const accountEmailConfirm: RouteFactory = (deps) => ({
  name: 'account-email-confirm',
  method: 'POST',
  kind: 'page',
  path: '/account/email/confirm',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireSignedIn,
    requireCsrfToken,
    async function confirmEmailChange(ctx: Context) {
      const user = ctx.state.session.user!;
      const change = await pendingEmailChange(deps, user, formField(ctx, 'token'));
      // Spent before the change, atomically: of two posts of one link only one goes on.
      if (change === null || !(await deps.replay.rememberOnce(change.jti, change.exp))) {
        ctx.state.log.info({ event: 'email-change', result: 'refused', userId: user.id, code: 'ERR_MAGIC_LINK_INVALID' }, 'e-mail change link not valid');
        renderPage(ctx, { title: 'Link not valid', body: emailLinkInvalidView() }, 400);
        return;
      }
      try {
        await deps.users.setEmail(user.id, change.to, change.jti);
      } catch (err) {
        if (hasCode(err, 'ERR_USER_EXISTS')) throw new TesseraError('ERR_USER_EXISTS', 'That address belongs to another account now.');
        if (!hasCode(err, 'ERR_STORE_CONFLICT')) throw err;
        // A newer change was asked for (or made) since this link was sent: only its link counts.
        ctx.state.log.info({ event: 'email-change', result: 'refused', userId: user.id, code: 'ERR_MAGIC_LINK_INVALID', reason: 'superseded' }, 'e-mail change link not valid');
        renderPage(ctx, { title: 'Link not valid', body: emailLinkInvalidView() }, 400);
        return;
      }
      ctx.state.log.info({ event: 'email-change', result: 'changed', userId: user.id }, 'e-mail address changed');
      recordAudit(deps.audit, ctx.state.log, { type: 'user.updated', actor: `user:${user.id}`, userId: user.id, sid: ctx.state.session.sid, ip: ctx.ip || null, details: { change: 'email' } });
      deps.mailer
        .send(emailChangedMessage({ to: change.from, newAddress: change.to, at: new Date(deps.clock.now()) }))
        .catch((err: unknown) => ctx.state.log.warn({ err: (err as Error).message, userId: user.id }, 'e-mail change notice not sent'));
      ctx.status = 303;
      ctx.redirect('/account?email=changed');
    },
  ],
});
