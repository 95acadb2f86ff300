/**
 * The stable error code a call fails with, for assertions on `code` (never `instanceof`: jest's
 * module realms make it unreliable). 'resolved' / 'returned' when it did not fail.
 */
export async function codeOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: unknown }).code;
  }
  return 'resolved';
}

export function codeOfSync(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return (err as { code?: unknown }).code;
  }
  return 'returned';
}
