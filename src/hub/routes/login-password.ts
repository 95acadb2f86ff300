/**
 * `POST /login`: password sign-in. Unknown e-mail, wrong password, disabled user and a user
 * without a password all get the same status and body and spend the same argon2 time
 * (no enumeration by message, status or timing).
 */
import type { Context } from 'koa';
import { normalizeEmail } from '../../core/users/normalize-email';
import { parseEmailAddress } from '../../core/users/email-address';
import { dummyVerify, hashPassword, passwordNeedsRehash, verifyPassword } from '../../users/password';
import { formField } from '../middleware/body';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import { renderPage } from '../middleware/page';
import { requestedReturnTo } from '../login/complete-login';
import { continueSignIn } from '../login/two-step';
import { countAttempt } from '../login/rate-limit';
import { recordAudit } from '../audit/record';
import type { RouteFactory } from '../route';
import { loginView } from '../views/login';
import type { UserRecord } from '../../ports';

const failureMessage = 'That e-mail address and password do not match an account that can sign in.';

function validEmailOrNull(input: string): string | null {
  try {
    return parseEmailAddress(input);
  } catch {
    return null;
  }
}

export const loginPassword: RouteFactory = (deps) => ({
  name: 'login-password',
  method: 'POST',
  kind: 'page',
  path: '/login',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireCsrfToken,
    async function checkPassword(ctx: Context) {
      if (!deps.config.login.allowPassword) ctx.throw(404);
      const emailInput = formField(ctx, 'email').trim();
      const password = formField(ctx, 'password');
      const returnTo = requestedReturnTo(deps, formField(ctx, 'return_to'));
      const email = validEmailOrNull(emailInput);
      const accountKey = normalizeEmail(email ?? emailInput);

      // Counted before the argon2 check (countAttempt); a success resets the account budget.
      await countAttempt(ctx, deps, accountKey);

      let user: UserRecord | null = email === null ? null : await deps.users.findByEmail(email);
      let reason: 'unknown-user' | 'no-password' | 'disabled' | 'bad-password' | 'bad-input' | null = null;
      try {
        if (user?.passwordHash) {
          const matches = await verifyPassword(user.passwordHash, password);
          if (!matches) reason = 'bad-password';
          else if (user.disabled) reason = 'disabled';
        } else {
          await dummyVerify(password);
          reason = user === null ? 'unknown-user' : 'no-password';
        }
      } catch {
        // Empty or oversize input: refused before hashing, the same way for every account.
        reason = 'bad-input';
      }

      if (reason !== null || user === null) {
        ctx.state.log.info({ event: 'login', result: 'failure', method: 'password', reason, code: 'ERR_LOGIN_FAILED' }, 'login failed');
        deps.metrics.countLogin('password', 'failure');
        recordAudit(deps.audit, ctx.state.log, { type: 'login.failure', userId: user?.id ?? null, ip: ctx.ip || null, reason, details: { method: 'password' } });
        user = null;
        renderPage(
          ctx,
          {
            title: 'Sign in',
            body: loginView({
              csrf: ctx.state.sessionControl.csrfToken(),
              returnTo: returnTo ?? '',
              email: emailInput.slice(0, 254),
              error: failureMessage,
              allowPassword: deps.config.login.allowPassword,
              allowMagicLink: deps.config.login.allowMagicLink,
            }),
          },
          401,
        );
        return;
      }

      // With two-step sign-in on, the code resets the budget (login-code.ts): a reset here would
      // give every re-entry of a known password a fresh budget of code guesses.
      if (user.totpEnabledAt === null) await deps.limits.perAccount.reset(accountKey);
      const checkedHash = user.passwordHash;
      if (checkedHash !== null && passwordNeedsRehash(checkedHash)) {
        // Made with older, weaker parameters: upgraded while the plain password is at hand. Best
        // effort, like the last-login time (a password below today's minimum length stays as is).
        // Only over the hash just checked, and not counted as a change (the password is the
        // same): a password changed meanwhile is neither undone nor missed by continueSignIn.
        await hashPassword(password)
          .then((hash) => deps.users.upgradePasswordHash(user.id, checkedHash, hash))
          .catch((err: unknown) => ctx.state.log.warn({ err: (err as Error).message, userId: user.id }, 'password hash not upgraded'));
      }
      await continueSignIn(ctx, deps, user, { method: 'password', persistent: formField(ctx, 'remember') === '1', returnTo });
    },
  ],
});
