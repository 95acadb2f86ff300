/**
 * `POST /account/email`: asks to change one's e-mail address. Who asks is proven as for a
 * password change (the current password, counted against the login limits; for an account
 * without one, a sign-in in the last ten minutes); the new address by the link mailed to it
 * (src/hub/login/email-change.ts). The answer is the same whether or not the address can be
 * used, so a signed-in person cannot probe which addresses have accounts: a taken address gets
 * no mail, and the look-up and the mail happen after the answer is written. Every request, taken
 * address or not, becomes the one pending change before the answer, so an older link stops
 * working either way. Mails to one address count against the per-recipient link limit.
 */
import type { Context } from 'koa';
import { hasCode } from '../../core/errors';
import { parseEmailAddress } from '../../core/users/email-address';
import { normalizeEmail } from '../../core/users/normalize-email';
import { emailChangeMessage } from '../../mail/templates';
import { beginEmailChange, emailChangeLink } from '../login/email-change';
import { checkWhoAsks } from '../login/password-change';
import { requireSignedIn } from '../login/require-user';
import { formField } from '../middleware/body';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import { renderPage } from '../middleware/page';
import type { Logger } from '../../log/logger';
import type { UserRecord } from '../../ports';
import type { HubDeps } from '../deps';
import type { RouteFactory } from '../route';
import { emailChangeView, emailLinkSentView } from '../views/email-change';
import { linkLifetimeMinutes } from './login-email';

async function sendEmailChangeLink(deps: HubDeps, log: Logger, user: UserRecord, to: string, jti: string): Promise<void> {
  const taken = await deps.users.findByEmail(to);
  const budget = taken === null ? await deps.limits.perRecipient.consume(normalizeEmail(to)) : null;
  if (taken !== null || !budget!.allowed) {
    log.info({ event: 'email-change', result: 'not-sent', reason: taken !== null ? 'address-taken' : 'recipient-limit', userId: user.id }, 'e-mail change link not sent');
    return;
  }
  const link = emailChangeLink(deps, user, to, jti);
  await deps.mailer.send(emailChangeMessage({ to, from: user.email, link, expiresMinutes: linkLifetimeMinutes(deps) }));
  log.info({ event: 'email-change', result: 'sent', userId: user.id }, 'e-mail change link sent');
}

export const accountEmail: RouteFactory = (deps) => ({
  name: 'account-email',
  method: 'POST',
  kind: 'page',
  path: '/account/email',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireSignedIn,
    requireCsrfToken,
    async function askEmailChange(ctx: Context) {
      const user = ctx.state.session.user!;
      const refuse = (code: string, message: string, status: number) => {
        ctx.state.log.info({ event: 'email-change', result: 'refused', userId: user.id, code }, 'e-mail change refused');
        renderPage(ctx, { title: 'Your e-mail address', body: emailChangeView({ csrf: ctx.state.sessionControl.csrfToken(), current: user.email, hasPassword: user.passwordHash !== null, error: message }) }, status);
      };
      let to: string;
      try {
        to = parseEmailAddress(formField(ctx, 'new_email').trim());
      } catch (err) {
        if (!hasCode(err, 'ERR_EMAIL_INVALID')) throw err;
        return refuse('ERR_EMAIL_INVALID', 'That is not an e-mail address we can send to.', 400);
      }
      const refused = await checkWhoAsks(ctx, deps);
      if (refused === 'ERR_REAUTHENTICATION_REQUIRED') return refuse(refused, 'Sign in again first: the address can be changed for a few minutes after signing in.', 403);
      if (refused === 'ERR_PASSWORD_INCORRECT') return refuse(refused, 'The current password is not correct.', 403);
      await deps.limits.perAccount.reset(normalizeEmail(user.email));
      const jti = await beginEmailChange(deps, user);

      const log = ctx.state.log;
      // After the response is written, as a sign-in link (login-email.ts): the lookup, the
      // mail and its failures would otherwise make a free address answer later, or with a 500.
      setImmediate(() => {
        sendEmailChangeLink(deps, log, user, to, jti).catch((err: unknown) => log.error({ err, event: 'email-change', userId: user.id }, 'e-mail change link failed'));
      });
      renderPage(ctx, { title: 'Check the new mailbox', body: emailLinkSentView({ to, expiresMinutes: linkLifetimeMinutes(deps) }) });
    },
  ],
});
