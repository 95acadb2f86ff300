/**
 * Deterministic races for tests: a store method that, on its first call, lets something else
 * happen right before or right after its real work (a password change landing during a sign-in's
 * lookup, two-step turned on while a session is being stored). Later calls run as they are.
 */

/**
 * Replaces `target[method]` so that `meanwhile` runs once: before the first call's real work
 * (`'before'`) or after it (`'after'`, the first call to finish), which then returns its result.
 *
 * @example
 * runOnce(hub.deps.users, 'findByEmail', 'after', () => passwdFromCli(newPassword));
 */
export function runOnce<T extends object, K extends keyof T>(target: T, method: K, at: 'before' | 'after', meanwhile: () => Promise<unknown>): void {
  const real = (target[method] as (...args: unknown[]) => Promise<unknown>).bind(target);
  let armed = true;
  const fire = async (when: 'before' | 'after') => {
    if (!armed || at !== when) return;
    armed = false;
    await meanwhile();
  };
  (target as Record<K, unknown>)[method] = async (...args: unknown[]) => {
    await fire('before');
    const result = await real(...args);
    await fire('after');
    return result;
  };
}
