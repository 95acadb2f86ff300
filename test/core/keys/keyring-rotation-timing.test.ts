/**
 * A rotation's timing counts from when the new key can be seen, not from when it was asked
 * for. Generating an RSA key takes from a few milliseconds to seconds; an instance that listed
 * the keys just before the save learns of the key one reload interval later at most, and a
 * JWKS cache filled then lasts one cache time more. So the new key may sign no earlier than
 * jwksMaxAge + reloadInterval after it was saved. Here key generation moves the injected clock
 * on, as a slow generation moves the real one.
 */
import type * as Crypto from 'node:crypto';
import { promisify } from 'node:util';
import { FrozenClock } from '../../../src/core/clock';
import { Keyring } from '../../../src/core/keys/keyring';
import type { KeyStore, StoredKey } from '../../../src/ports';
import { MemoryKeyStore } from '../../../src/stores/memory/key-store';

/** How far each key generation moves `mockClock` on, in milliseconds. */
const mockGeneration = { ms: 0 };
const mockClock = new FrozenClock(0);

jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof Crypto>('node:crypto');
  const generate = promisify(actual.generateKeyPair) as (...args: unknown[]) => Promise<unknown>;
  const slow = Object.assign((..._args: unknown[]) => {
    throw new Error('only the promisified form is used');
  }, {
    [promisify.custom]: async (...args: unknown[]) => {
      const pair = await generate(...args);
      mockClock.advance(mockGeneration.ms);
      return pair;
    },
  });
  return { ...actual, generateKeyPair: slow };
});

const T0 = 1_700_000_000;
const JWKS_MAX_AGE = 300;
const RELOAD = 30;
const WINDOW = JWKS_MAX_AGE + RELOAD;

/** A store that notes the clock (ms) whenever a key is saved. */
function recordingStore(): { store: KeyStore; savedAt: Map<string, number> } {
  const inner = new MemoryKeyStore();
  const savedAt = new Map<string, number>();
  return {
    savedAt,
    store: {
      load: () => inner.load(),
      remove: (kid) => inner.remove(kid),
      save: async (key: StoredKey) => {
        if (!savedAt.has(key.kid)) savedAt.set(key.kid, mockClock.now());
        await inner.save(key);
      },
    },
  };
}

describe('Keyring rotation timing', () => {
  beforeEach(() => {
    mockGeneration.ms = 0;
    mockClock.set(T0 * 1000);
  });

  it.each([
    ['a whole second', T0 * 1000],
    ['the middle of a second', T0 * 1000 + 600],
  ])('lets the new key sign no earlier than the window after it was saved, when generation takes 4.5 s, starting at %s', async (_name, start) => {
    const { store, savedAt } = recordingStore();
    const keyring = await Keyring.open(store, { algorithm: 'ES256', clock: mockClock, maxTokenTtlSeconds: 35, jwksMaxAgeSeconds: JWKS_MAX_AGE, reloadIntervalSeconds: RELOAD });
    const old = keyring.signingKey().kid;
    mockClock.set(start);
    mockGeneration.ms = 4_500;

    const added = await keyring.rotate();

    const saved = savedAt.get(added.kid)!;
    expect(saved).toBe(start + 4_500);
    expect(added.state).toBe('next');
    expect(added.activatesAt * 1000).toBeGreaterThanOrEqual(saved + WINDOW * 1000);
    // The old key signs until then, and not a second longer than needed.
    expect(keyring.list().find((k) => k.kid === old)!.retiredAt).toBe(added.activatesAt);
    expect(added.activatesAt).toBe(Math.ceil(saved / 1000) + WINDOW);
    expect(added.createdAt).toBe(Math.floor(saved / 1000));
  });
});
