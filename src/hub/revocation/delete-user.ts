/**
 * Deleting a user (right to erasure): the one operation behind `tessera users delete`, the admin
 * API and the admin UI.
 *
 * Order matters. The user is disabled first, so that no sign-in can start a session between
 * the steps; then every session of theirs ends everywhere (reason `user-deleted`, back-channel
 * logout to the sites, projections deleted); then the user record and their pending magic links
 * go; then the deletion is audited. A failure stops the sequence where it is: the user stays
 * disabled, and running the deletion again finishes it. Audit events keep the user's id, which
 * names nobody once the record is gone; the e-mail address is free for a new account.
 */
import type { UserRecord } from '../../ports';
import type { HubDeps } from '../deps';
import { revokeUserSessions, type RevocationDeps } from './revoke';

/**
 * @returns how many sessions were ended.
 * @example
 * const { endedSessions } = await deleteUser(deps, user, `admin:${admin.id}`);
 */
export async function deleteUser(deps: RevocationDeps & Pick<HubDeps, 'users'>, user: UserRecord, actor: string): Promise<{ endedSessions: number }> {
  if (!user.disabled) await deps.users.setDisabled(user.id, true);
  const ended = await revokeUserSessions(deps, user.id, 'user-deleted', actor);
  await deps.users.delete(user.id);
  await deps.audit.append({ type: 'user.deleted', actor, userId: user.id, details: { endedSessions: ended.length } });
  return { endedSessions: ended.length };
}
