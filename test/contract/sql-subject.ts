/**
 * What the contract suites of the SQL-backed admin stores (audit log, admin tokens) need from an
 * adapter besides the store itself: its clock, the rows it really stored, and a way to make the
 * backing store unreachable.
 */
import type { FrozenClock } from '../../src/core/clock';

export interface SqlStoreSubject {
  /** The clock the store was given; starts at `contractStart`. */
  clock: FrozenClock;
  /** Every row of the store's table as the driver returns it: what is really stored. */
  rows(): Promise<Record<string, unknown>[]>;
  /** Makes the backing store unreachable (closes the database, ends the pool). */
  sever(): Promise<void>;
  /** Releases everything the subject's `open` created (also after `sever`). */
  dispose(): Promise<void>;
}

/** Where a subject's clock starts (ms). */
export const contractStart = 1_700_000_000_000;

export { codeOf } from '../support/errors';
