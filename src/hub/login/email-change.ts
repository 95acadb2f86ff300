/**
 * Changing one's e-mail address (the account page). The new address is proven by a link mailed
 * to it: a token the hub signs for itself (`typ: email-change+jwt`, hub-token.ts) naming the
 * user, the address the change starts from and the new one, valid as long as a sign-in link
 * (`login.magicLinkTtlSeconds`). It is spent by the change itself: once the address is no
 * longer the one it starts from, the same link does nothing; and its `jti` is remembered by the
 * change (the replay store), so it does nothing either when the account comes back to that address.
 *
 * Only the newest request's link confirms: every request makes its `jti` the account's one
 * pending change in the user database (`UserStore.setPendingEmailChange`), and the change is
 * made only for that one (`setEmail` with it), so an unused older link stops working at once,
 * on every hub instance. Every request does so, whether or not a link is mailed (a taken
 * address gets none): an older link's fate says nothing about the newer address.
 */
import { randomBytes } from 'node:crypto';
import { normalizeEmail } from '../../core/users/normalize-email';
import type { UserRecord } from '../../ports';
import type { HubDeps } from '../deps';
import { mintHubToken, readHubToken } from './hub-token';

export const EMAIL_CHANGE_TYP = 'email-change+jwt';

export interface EmailChange {
  userId: string;
  /** The address when the change was asked for. */
  from: string;
  to: string;
  /** The link's single-use id and when it expires (Unix seconds): `ReplayStore.rememberOnce`. */
  jti: string;
  exp: number;
}

/**
 * Starts a change of `user`'s address: a new change id (the `jti` of its link), made the user's
 * one pending change, so that every link asked for before stops working.
 */
export async function beginEmailChange(deps: Pick<HubDeps, 'users'>, user: UserRecord): Promise<string> {
  const jti = randomBytes(16).toString('base64url');
  await deps.users.setPendingEmailChange(user.id, jti);
  return jti;
}

/** The confirmation link of change `jti` (from `beginEmailChange`) of `user`'s address to `to`. */
export function emailChangeLink(deps: Pick<HubDeps, 'config' | 'clock' | 'keyring'>, user: UserRecord, to: string, jti: string): string {
  const token = mintHubToken(deps, EMAIL_CHANGE_TYP, { sub: user.id, from: user.email, to, jti }, deps.config.login.magicLinkTtlSeconds);
  return `${deps.config.publicUrl}/account/email/confirm?token=${token}`;
}

/**
 * Whether `change` is still the account's pending one: false once a newer change was asked for,
 * or the address changed. Only a read, for the link's page; the change itself is made only for
 * the pending one, atomically (`setEmail` with it).
 */
export async function isPendingEmailChange(deps: Pick<HubDeps, 'users'>, change: EmailChange): Promise<boolean> {
  return (await deps.users.pendingEmailChangeId(change.userId)) === change.jti;
}

/** The change `token` asks for, if it is a live one of the hub's and `user` still has the address it starts from; null otherwise. */
export async function pendingEmailChange(deps: Pick<HubDeps, 'config' | 'clock' | 'keyring'>, user: UserRecord, token: string): Promise<EmailChange | null> {
  const claims = await readHubToken(deps, EMAIL_CHANGE_TYP, token, deps.config.login.magicLinkTtlSeconds);
  if (claims === null) return null;
  const { sub, from, to, jti, exp } = claims;
  if (sub !== user.id || typeof from !== 'string' || typeof to !== 'string' || typeof jti !== 'string') return null;
  if (normalizeEmail(from) !== normalizeEmail(user.email)) return null;
  return { userId: sub, from, to, jti, exp: exp as number };
}
