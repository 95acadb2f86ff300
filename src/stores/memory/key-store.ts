/**
 * Keys held in process memory. For tests only: keys vanish on restart and are not shared
 * between instances, so every restart would invalidate every token in flight.
 */
import type { KeyStore, StoredKey } from '../../ports';

export class MemoryKeyStore implements KeyStore {
  private readonly keys = new Map<string, StoredKey>();

  async load(): Promise<StoredKey[]> {
    return [...this.keys.values()].map((k) => ({ ...k }));
  }

  async save(key: StoredKey): Promise<void> {
    this.keys.set(key.kid, { ...key });
  }

  async remove(kid: string): Promise<void> {
    this.keys.delete(kid);
  }
}
