/**
 * Every adapter turns a failure of its backing store (connection refused, timeout, disk error,
 * closed handle) into `ERR_STORE_UNAVAILABLE`, so the hub answers 503 and fails closed
 * (SECURITY.md "Resilience") without knowing which driver it runs on. The driver's error stays
 * available as `cause` for the log.
 */
import { TesseraError } from '../core/errors';

/**
 * Runs one store operation; rethrows Tessera errors as they are and wraps anything else.
 *
 * @example
 * get(sid) { return guardStore('redis session store', 'get', () => this.load(sid)); }
 */
export async function guardStore<T>(store: string, operation: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof TesseraError) throw err;
    throw new TesseraError('ERR_STORE_UNAVAILABLE', `${store}: ${operation} failed`, { cause: err });
  }
}
