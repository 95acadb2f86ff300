/**
 * Whether a user's password changed while a sign-in was under way: between the check of the
 * password and the code step, or the new session. Such a sign-in is refused everywhere it is
 * asked (src/hub/login/two-step.ts, src/hub/login/complete-login.ts, src/hub/routes/login-code.ts):
 * a change of the password ends every session, and must not leave one to whoever knew the old
 * password. Pure: no I/O.
 */
import type { UserRecord } from '../../ports';

/**
 * True when `user`'s password was set, changed or removed since a sign-in checked the password
 * at version `checkedVersion`; always false for `null`, a sign-in that checked no password (an
 * e-mail link proves no password, and outlives a password change as any later link would).
 *
 * Versions are compared, not hashes: a sign-in upgrades the hash of the same password to newer
 * argon2 parameters (`UserStore.upgradePasswordHash`, which leaves the version), and such an
 * upgrade, by this sign-in or a concurrent one, must refuse nobody. A version counted by the
 * store also tells two changes in one second apart, which a change time would not.
 *
 * @example
 * passwordChangedSince(3, { passwordVersion: 3 });    // false: the password that was checked
 * passwordChangedSince(3, { passwordVersion: 4 });    // true: changed since
 * passwordChangedSince(null, { passwordVersion: 4 }); // false: the sign-in checked no password
 */
export function passwordChangedSince(checkedVersion: number | null, user: Pick<UserRecord, 'passwordVersion'>): boolean {
  return checkedVersion !== null && user.passwordVersion !== checkedVersion;
}
