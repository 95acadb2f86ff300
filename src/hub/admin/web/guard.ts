/**
 * Who may use the admin web UI, and when they must prove it again.
 * - `requireAdmin`: a signed-in user with the `admin` role; anyone else signed in gets 403
 *   `ERR_FORBIDDEN` (a GET without a session goes to the login page first). With
 *   `admin.requireTwoStep`, an admin without two-step sign-in gets 403 `ERR_TWO_STEP_REQUIRED`
 *   and the way to turn it on.
 * - `requireRecentPassword`: before a destructive action (revoke, disable), the admin's last
 *   credential entry must be at most `admin.reauthSeconds` old. The last entry is the later of
 *   the sign-in (a login rotates the session, so its `createdAt` is the login time) and the
 *   last re-authentication in this session, which is an `admin.action` audit event: durable,
 *   shared by every hub instance, and visible to other admins. When it is too old, the action is
 *   answered with a password form that posts the same action again with the password (and, for
 *   an admin with two-step sign-in on, a code from the app or a recovery code as well).
 */
import type { Context, Middleware, Next } from 'koa';
import { nowSeconds } from '../../../core/clock';
import { TesseraError } from '../../../core/errors';
import { normalizeEmail } from '../../../core/users/normalize-email';
import { verifyPassword } from '../../../users/password';
import type { HubDeps } from '../../deps';
import { requireSignedIn } from '../../login/require-user';
import { refuseWhenLimited } from '../../login/rate-limit';
import { checkSecondFactor } from '../../login/second-factor';
import { formField } from '../../middleware/body';
import { renderPage } from '../../middleware/page';
import { reauthView, twoStepRequiredView } from '../../views/admin';

/** The audit actor of an admin acting through the web UI. */
export function adminActor(ctx: Context): string {
  return `admin:${ctx.state.session.user!.id}`;
}

function checkAdminRole(deps: HubDeps): Middleware {
  return async function checkAdmin(ctx: Context, next: Next): Promise<void> {
    const user = ctx.state.session.user!;
    if (!user.roles.includes('admin')) throw new TesseraError('ERR_FORBIDDEN', 'Administrators only.');
    if (deps.config.admin.requireTwoStep && user.totpEnabledAt === null) {
      ctx.state.log.info({ event: 'admin', result: 'refused', userId: user.id, code: 'ERR_TWO_STEP_REQUIRED' }, 'admin without two-step sign-in refused');
      renderPage(ctx, { title: 'Administration', body: twoStepRequiredView() }, 403);
      return;
    }
    await next();
  };
}

/**
 * Signed in and an admin (with `admin.requireTwoStep`, one who has two-step sign-in on); use
 * first on every admin page and form.
 */
export function requireAdmin(deps: HubDeps): Middleware[] {
  return [requireSignedIn, checkAdminRole(deps)];
}

/** When this session last entered a credential: sign-in or the latest re-authentication. */
async function lastCredentialEntry(deps: HubDeps, ctx: Context): Promise<number> {
  const sid = ctx.state.session.sid!;
  const latest = await deps.audit.query({ type: 'admin.action', sid, actor: adminActor(ctx) }, { limit: 1 });
  return Math.max(ctx.state.session.createdAt ?? 0, latest.items[0]?.at ?? 0);
}

export function requireRecentPassword(deps: HubDeps): Middleware {
  return async function checkRecentPassword(ctx, next) {
    const now = nowSeconds(deps.clock);
    if (now - (await lastCredentialEntry(deps, ctx)) <= deps.config.admin.reauthSeconds) return next();
    const user = ctx.state.session.user!;
    const fields = Object.fromEntries(Object.entries(ctx.request.body as Record<string, unknown>).filter(([k, v]) => k !== '_csrf' && k !== 'password' && k !== 'reauth_code' && typeof v === 'string')) as Record<string, string>;
    const twoStep = user.totpEnabledAt !== null;
    const form = (error: string | null) =>
      renderPage(ctx, { title: 'Confirm your password', body: reauthView({ action: ctx.path, fields, csrf: ctx.state.sessionControl.csrfToken(), error, hasPassword: user.passwordHash !== null, twoStep }) }, error === null ? 200 : 401);
    const password = formField(ctx, 'password');
    if (password === '' || user.passwordHash === null) return form(null);
    // The same per-account budget as the login form: this is a password guess too.
    const accountKey = normalizeEmail(user.email);
    refuseWhenLimited(ctx, await deps.limits.perAccount.consume(accountKey), 'account');
    if (!(await verifyPassword(user.passwordHash, password))) return form(twoStep ? 'That password or code is not right.' : 'That password is not right.');
    // With two-step sign-in on, the password alone is not the admin: the code is asked too.
    if (twoStep && (await checkSecondFactor(deps, user.id, formField(ctx, 'reauth_code'))) === null) return form('That password or code is not right.');
    await deps.limits.perAccount.reset(accountKey);
    await deps.audit.append({ type: 'admin.action', actor: adminActor(ctx), userId: user.id, sid: ctx.state.session.sid, ip: ctx.ip || null, details: { action: 'reauth', target: user.id } });
    await next();
  };
}
