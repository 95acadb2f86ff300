/**
 * `POST /account/password`: change one's own password (the current one required), or set one
 * for an account that signs in by e-mail link (a recent sign-in required). On success every
 * other session of the user ends (the way "sign out everywhere else" ends them), this one stays,
 * the change is audited and the user is told by e-mail.
 */
import type { Context } from 'koa';
import { hasCode, TesseraError } from '../../core/errors';
import { describeDevice } from '../../core/sessions/device';
import { normalizeEmail } from '../../core/users/normalize-email';
import { passwordChangedMessage } from '../../mail/templates';
import { hashPassword } from '../../users/password';
import { recordAudit } from '../audit/record';
import { checkWhoAsks, refusePasswordChange } from '../login/password-change';
import { requireSignedIn } from '../login/require-user';
import { formField } from '../middleware/body';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import { revokeUserSessions } from '../revocation/revoke';
import type { RouteFactory } from '../route';

export const accountPassword: RouteFactory = (deps) => ({
  name: 'account-password',
  method: 'POST',
  kind: 'page',
  path: '/account/password',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireSignedIn,
    requireCsrfToken,
    async function changePassword(ctx: Context) {
      if (!deps.config.login.allowPassword) throw new TesseraError('ERR_NOT_FOUND', 'Not found.');
      const user = ctx.state.session.user!;
      const record = ctx.state.sessionControl.record()!;
      const hasPassword = user.passwordHash !== null;
      // The same budgets as sign-in: a stolen session must not guess the password faster here.
      const refused = await checkWhoAsks(ctx, deps);
      if (refused === 'ERR_REAUTHENTICATION_REQUIRED') {
        return refusePasswordChange(ctx, hasPassword, refused, 'Sign in again to set a password: it can be set for a few minutes after signing in.');
      }
      if (refused === 'ERR_PASSWORD_INCORRECT') return refusePasswordChange(ctx, hasPassword, refused, 'The current password is not correct.');
      const next = formField(ctx, 'new_password');
      if (next !== formField(ctx, 'confirm_password')) {
        return refusePasswordChange(ctx, hasPassword, 'ERR_PASSWORD_MISMATCH', 'The two new passwords are not the same.');
      }
      let passwordHash: string;
      try {
        passwordHash = await hashPassword(next);
      } catch (err) {
        if (!hasCode(err, 'ERR_PASSWORD_POLICY')) throw err;
        return refusePasswordChange(ctx, hasPassword, 'ERR_PASSWORD_POLICY', `The new password does not fit the rules: ${(err as Error).message}.`);
      }

      await deps.users.setPasswordHash(user.id, passwordHash);
      await deps.limits.perAccount.reset(normalizeEmail(user.email));
      const ended = await revokeUserSessions(deps, user.id, 'password-changed', `user:${user.id}`, { exceptSid: record.sid });
      const change = hasPassword ? 'password-changed' : 'password-set';
      ctx.state.log.info({ event: 'password-change', result: 'success', userId: user.id, change, endedSessions: ended.length }, 'password changed');
      recordAudit(deps.audit, ctx.state.log, { type: 'user.updated', actor: `user:${user.id}`, userId: user.id, sid: record.sid, ip: ctx.ip || null, details: { change, endedSessions: ended.length } });
      const message = passwordChangedMessage({ to: user.email, set: !hasPassword, device: describeDevice(record.userAgent), ip: record.ip, at: new Date(deps.clock.now()) });
      // Not awaited, as the sign-in notice: the person should not wait for the mail server.
      deps.mailer.send(message).catch((err: unknown) => ctx.state.log.warn({ err: (err as Error).message, userId: user.id }, 'password change notice not sent'));
      ctx.status = 303;
      ctx.redirect(`/account?password=${change === 'password-set' ? 'set' : 'changed'}`);
    },
  ],
});
