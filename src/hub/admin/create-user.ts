/**
 * An administrator creating an account (admin API and web UI): the person signs in by e-mail
 * link (no password is chosen for them), optionally with the admin role, optionally told by
 * e-mail where to sign in. Audited as `user.created` and as an `admin.action`.
 */
import type { Context } from 'koa';
import { parseDisplayName } from '../../core/users/display-name';
import { parseEmailAddress } from '../../core/users/email-address';
import { accountCreatedMessage } from '../../mail/templates';
import type { UserRecord } from '../../ports';
import type { HubDeps } from '../deps';
import { recordAdminAction } from './audit-action';

export interface AccountRequest {
  email: string;
  name: string | null;
  admin: boolean;
  /** E-mail the person where to sign in. */
  invite: boolean;
}

/**
 * @throws TesseraError `ERR_EMAIL_INVALID` (400) for an address that cannot be mailed,
 *   `ERR_BAD_REQUEST` (400) for a name `parseDisplayName` refuses, `ERR_USER_EXISTS` (409) when
 *   the address has an account; nothing is stored then.
 */
export async function createAccount(deps: HubDeps, ctx: Context, request: AccountRequest, actor: string): Promise<UserRecord> {
  const email = parseEmailAddress(request.email);
  const name = request.name === null ? null : parseDisplayName(request.name);
  const user = await deps.users.create({ email, name, passwordHash: null, roles: request.admin ? ['admin'] : [] });
  await deps.audit.append({ type: 'user.created', actor, userId: user.id, ip: ctx.ip || null, details: { roles: user.roles.join(','), magicLinkOnly: true, invited: request.invite } });
  await recordAdminAction(deps.audit, ctx, actor, 'user.create', user.id, user.id);
  if (request.invite) {
    // Not awaited: the account exists whatever the mail server says; a failure is logged.
    deps.mailer
      .send(accountCreatedMessage({ to: user.email, loginUrl: `${deps.config.publicUrl}/login` }))
      .catch((err: unknown) => ctx.state.log.warn({ err: (err as Error).message, userId: user.id }, 'account invitation not sent'));
  }
  return user;
}
