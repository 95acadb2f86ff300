/**
 * `POST /login/email`: asks for a magic link. Always answers the same page, whether or not the
 * address has an account, and sends the mail without awaiting it, so neither the body nor the
 * time reveals anything. The link carries 256 random bits; the store keeps only SHA-256 of them;
 * it is built from the configured public URL, never from `Host`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { nowSeconds } from '../../core/clock';
import { parseEmailAddress } from '../../core/users/email-address';
import { normalizeEmail } from '../../core/users/normalize-email';
import { magicLinkMessage } from '../../mail/templates';
import { formField } from '../middleware/body';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import { renderPage } from '../middleware/page';
import { requestedReturnTo } from '../login/complete-login';
import { addressLimitKey, refuseWhenLimited } from '../login/rate-limit';
import type { RouteFactory } from '../route';
import { linkSentView } from '../views/login';
import type { HubDeps } from '../deps';

export function hashLinkToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The link lifetime in whole minutes, as the e-mail and the pages state it: rounded down (a
 * 90-second link is "1 minute"), so nobody is told they have longer than they do.
 */
export function linkLifetimeMinutes(deps: Pick<HubDeps, 'config'>): number {
  return Math.floor(deps.config.login.magicLinkTtlSeconds / 60);
}

async function issueLink(deps: HubDeps, ctx: Context, email: string, returnTo: string | null): Promise<void> {
  const user = await deps.users.findByEmail(email);
  if (user === null || user.disabled) {
    ctx.state.log.info({ event: 'magic-link', result: 'not-sent', reason: user === null ? 'unknown-user' : 'disabled' }, 'magic link not issued');
    return;
  }
  const budget = await deps.limits.perRecipient.consume(normalizeEmail(user.email));
  if (!budget.allowed) {
    ctx.state.log.warn({ event: 'magic-link', result: 'not-sent', reason: 'recipient-limit', code: 'ERR_RATE_LIMITED', userId: user.id }, 'magic link not issued');
    return;
  }
  const token = randomBytes(32).toString('base64url');
  const ttl = deps.config.login.magicLinkTtlSeconds;
  await deps.users.createMagicLink({ tokenHash: hashLinkToken(token), userId: user.id, email: user.email, expiresAt: nowSeconds(deps.clock) + ttl, returnTo });
  const link = `${deps.config.publicUrl}/login/link?token=${token}`;
  await deps.mailer.send(magicLinkMessage({ to: user.email, link, expiresMinutes: linkLifetimeMinutes(deps) }));
  ctx.state.log.info({ event: 'magic-link', result: 'sent', userId: user.id }, 'magic link sent');
}

export const loginEmail: RouteFactory = (deps) => ({
  name: 'login-email',
  method: 'POST',
  kind: 'page',
  path: '/login/email',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireCsrfToken,
    async function sendMagicLink(ctx: Context) {
      if (!deps.config.login.allowMagicLink) ctx.throw(404);
      refuseWhenLimited(ctx, await deps.limits.perAddress.consume(addressLimitKey(ctx)), 'address');
      const returnTo = requestedReturnTo(deps, formField(ctx, 'return_to'));
      let email: string | null = null;
      try {
        email = parseEmailAddress(formField(ctx, 'email'));
      } catch {
        ctx.state.log.info({ event: 'magic-link', result: 'not-sent', reason: 'invalid-address', code: 'ERR_EMAIL_INVALID' }, 'magic link not issued');
      }
      if (email !== null) {
        const log = ctx.state.log;
        const address = email;
        // After the response is written: even the synchronous part of issuing a link (store
        // insert, rendering, handing to nodemailer) would otherwise make known addresses slower.
        setImmediate(() => {
          issueLink(deps, ctx, address, returnTo).catch((err: unknown) => log.error({ err, event: 'magic-link' }, 'magic link failed'));
        });
      }
      renderPage(ctx, { title: 'Check your e-mail', body: linkSentView({ expiresMinutes: linkLifetimeMinutes(deps) }) });
    },
  ],
});
