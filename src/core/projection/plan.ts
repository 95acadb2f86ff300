/**
 * The decision every ProjectionStore adapter makes between reading a key and writing it back:
 * what to store given what is there. Kept here, free of I/O, so the memory and Redis adapters
 * cannot drift apart on what "merge" means.
 */
import { isUtf8 } from 'node:buffer';
import { TesseraError } from '../errors';
import type { ProjectionWrite } from '../../ports';
import { mergeProjection } from './fields';
import { projectionCodec } from './formats';

/**
 * - `written` with the new `value` to store;
 * - `current`: the stored session already holds our values: only extend its expiry;
 * - `unreadable`: the stored bytes are not UTF-8 or not what the format's codec reads (a PHP
 *   object, say): leave them untouched and only extend the expiry, since re-encoding what we
 *   cannot read would destroy the application's data.
 */
export type ProjectionPlan = { outcome: 'written'; value: string } | { outcome: 'current' | 'unreadable' };


/**
 * What to store at a projection's key that holds `stored` (null: no key).
 *
 * @example
 * planProjection(null, { format: 'php', fields: { user_id: 'u1' }, unset: [] });
 * // { outcome: 'written', value: 'user_id|s:2:"u1";' }
 */
export function planProjection(stored: string | Uint8Array | null, projection: Pick<ProjectionWrite, 'format' | 'fields' | 'unset'>): ProjectionPlan {
  const codec = projectionCodec(projection.format);
  if (stored === null) return { outcome: 'written', value: codec.encode(projection.fields) };
  if (typeof stored !== 'string' && !isUtf8(stored)) return { outcome: 'unreadable' };
  const text = typeof stored === 'string' ? stored : Buffer.from(stored).toString('utf8');
  try {
    const merged = mergeProjection(codec.decode(text), projection);
    return merged === null ? { outcome: 'current' } : { outcome: 'written', value: codec.encode(merged) };
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_PROJECTION_FORMAT') return { outcome: 'unreadable' };
    throw err;
  }
}

/**
 * Thrown by adapters that lost the race against other writers too many times in a row. It never
 * names the key: a projection key holds the site cookie value, a credential.
 */
export function projectionContention(): TesseraError {
  return new TesseraError('ERR_STORE_UNAVAILABLE', 'a projection kept changing while it was merged');
}
