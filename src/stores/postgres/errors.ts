/**
 * How PostgreSQL failures become Tessera errors. A server that cannot be reached, refuses
 * connections or is shutting down is `ERR_STORE_UNAVAILABLE` (503, fail closed, retry later);
 * any other SQL error is a bug or a schema problem and keeps its original form so it surfaces
 * as an internal error with its SQLSTATE.
 */
import { DatabaseError } from 'pg';
import { TesseraError } from '../../core/errors';

/**
 * SQLSTATE classes that mean "the database is not available right now": 08 connection
 * exception, 53 insufficient resources (too many connections, disk full), 57P0x operator
 * intervention (admin / crash shutdown, cannot connect now).
 */
const unavailableState = /^(08|53|57P0)/;

/** SQLSTATE 23505 (unique_violation), with the name of the violated constraint. */
export function uniqueViolation(err: unknown): string | null {
  return err instanceof DatabaseError && err.code === '23505' ? (err.constraint ?? '') : null;
}

/**
 * Maps a failure of a pg call. Errors without a SQLSTATE come from the connection itself
 * (ECONNREFUSED, "Connection terminated", pool connect timeout, pool ended) and so mean the
 * store is unavailable, as do the SQLSTATE classes above.
 */
export function toStoreError(err: unknown): unknown {
  if (err instanceof TesseraError) return err;
  if (err instanceof DatabaseError && !unavailableState.test(err.code ?? '')) return err;
  return new TesseraError('ERR_STORE_UNAVAILABLE', 'PostgreSQL is unavailable', { cause: err });
}
