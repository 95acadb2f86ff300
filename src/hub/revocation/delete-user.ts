/**
 * Deleting a user (right to erasure): the one operation behind `tessera users delete`, the admin
 * API and the admin UI.
 *
 * Order matters. The user is disabled first, so that no sign-in can start a session between
 * the steps; then every session of theirs ends everywhere (reason `user-deleted`, back-channel
 * logout to the sites, projections deleted); then the user record and their pending magic links
 * go; then the deletion is audited. A failure stops the sequence where it is: the user stays
 * disabled, and running the deletion again finishes it. Audit events keep the user's id, which
 * names nobody once the record is gone; the e-mail address is free for a new account. Once the
 * record is gone, the owner is told by e-mail at the address the account had.
 */
import type { UserRecord } from '../../ports';
import type { HubDeps } from '../deps';
import { revokeUserSessions, type RevocationDeps } from './revoke';

/** What a deletion did. */
export interface DeletedUser {
  /** How many sessions were ended. */
  endedSessions: number;
  /**
   * The account as it was when this call removed it (its address is where the owner is told);
   * null when it was gone already (a concurrent deletion removed it, and tells them).
   */
  removed: UserRecord | null;
}

/**
 * The owner is not told here: the hub does it without waiting (src/hub/admin/notify.ts), the
 * CLI waits and fails when the mail cannot be sent (src/cli/commands/users.ts).
 *
 * @example
 * const { endedSessions, removed } = await deleteUser(deps, user, `admin:${admin.id}`);
 */
export async function deleteUser(deps: RevocationDeps & Pick<HubDeps, 'users'>, user: UserRecord, actor: string): Promise<DeletedUser> {
  // Disabling again an account that is already disabled is harmless, and reads its address now.
  const current = await deps.users.setDisabled(user.id, true);
  const ended = await revokeUserSessions(deps, user.id, 'user-deleted', actor);
  const removed = await deps.users.delete(user.id);
  await deps.audit.append({ type: 'user.deleted', actor, userId: user.id, details: { endedSessions: ended.length } });
  return { endedSessions: ended.length, removed: removed ? current : null };
}
