/**
 * `GET /account/two-step`: two-step sign-in on the account page. While it is off: a new secret
 * as a QR code and as text, and the form that turns it on (src/hub/routes/account-two-step-enable.ts);
 * the secret is not stored until then. While it is on: turn it off, or new recovery codes.
 */
import type { Context } from 'koa';
import { newTotpSecret, qrSvg, totpUri } from '../../users/two-step';
import type { UserRecord } from '../../ports';
import type { HubDeps } from '../deps';
import { needsFreshSignIn, renderSignInAgain } from '../login/password-change';
import { requireSignedIn } from '../login/require-user';
import { renderPage } from '../middleware/page';
import type { RouteFactory } from '../route';
import { enrolView, manageView } from '../views/two-step';

const infoByQuery: Record<string, string> = { on: 'Two-step sign-in is on.' };

/**
 * The enrolment page: a fresh secret, or after a refused attempt the same one again (the app
 * already holds it), with `error` above the form.
 */
export async function renderEnrolment(ctx: Context, deps: HubDeps, error: string | null, status = 200, secret = newTotpSecret()): Promise<void> {
  const user = ctx.state.session.user!;
  const svg = await qrSvg(totpUri({ issuer: `Tessera (${new URL(deps.config.publicUrl).host})`, account: user.email, secret }));
  renderPage(ctx, { title: 'Two-step sign-in', body: enrolView({ csrf: ctx.state.sessionControl.csrfToken(), secret, qrSvg: svg, hasPassword: user.passwordHash !== null, error }) }, status);
}

/**
 * The page while two-step sign-in is on, with `notice` above it (also for a refused code); back
 * to the page when it is off after all.
 */
export async function renderManagement(ctx: Context, deps: HubDeps, user: UserRecord, notice: { error?: string; info?: string | null } = {}, status = 200): Promise<void> {
  const state = user.totpEnabledAt === null ? null : await deps.users.totpState(user.id);
  if (state === null) {
    ctx.status = 303;
    ctx.redirect('/account/two-step');
    return;
  }
  const since = new Date(user.totpEnabledAt! * 1000).toISOString().slice(0, 10);
  renderPage(ctx, { title: 'Two-step sign-in', body: manageView({ csrf: ctx.state.sessionControl.csrfToken(), since, recoveryCodesLeft: state.recoveryCodeHashes.length, ...notice }) }, status);
}

export const accountTwoStepPage: RouteFactory = (deps) => ({
  name: 'account-two-step-page',
  method: 'GET',
  kind: 'page',
  path: '/account/two-step',
  middleware: [
    requireSignedIn,
    async function showTwoStep(ctx: Context) {
      const user = ctx.state.session.user!;
      if (user.totpEnabledAt !== null) return renderManagement(ctx, deps, user, { info: infoByQuery[String(ctx.query.done)] ?? null });
      if (needsFreshSignIn(ctx, deps.clock)) return renderSignInAgain(ctx, deps, { title: 'Two-step sign-in', path: '/account/two-step', what: 'turn on two-step sign-in' });
      await renderEnrolment(ctx, deps, null);
    },
  ],
});
