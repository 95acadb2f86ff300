/**
 * Two hub instances sharing one `keys/` directory: instance A rotates, and its rotation prunes a
 * key whose grace has ended, while instance B is reading the directory (its periodic reload, or
 * its start). B listed the pruned key's files before they went; reading them then fails. B must
 * still load what is left, the keys A just wrote included: before, the whole read failed, a
 * reload kept B on its old keys (no `next` key in its JWKS, none to verify the new key's tokens
 * with) until its next reload, and a start failed. The interleaving is made deterministic by
 * holding B's read of the pruned key's file until A has removed it.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import fsPromises from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FrozenClock } from '../../src/core/clock';
import { keyThumbprint } from '../../src/core/keys/jwk';
import { Keyring, type KeyringOptions } from '../../src/core/keys/keyring';
import type { StoredKey } from '../../src/ports';
import { DirectoryKeyStore } from '../../src/stores/keys-dir/key-store';

const T0 = 1_700_000_000;

function newKey(times: Partial<StoredKey>): StoredKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    kid: keyThumbprint(createPublicKey(privateKey)),
    alg: 'ES256',
    createdAt: T0 - 20_000,
    activatesAt: T0 - 20_000,
    retiredAt: null,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    ...times,
  };
}

describe('a key read racing the pruning of a rotation on another instance', () => {
  let root: string;
  let dir: string;
  let options: KeyringOptions;
  /** Retired long ago: the next rotation removes it. */
  let pruned: StoredKey;
  let current: StoredKey;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'tessera-keys-race-'));
    dir = path.join(root, 'keys');
    options = { algorithm: 'ES256', clock: new FrozenClock(T0 * 1000), maxTokenTtlSeconds: 35, jwksMaxAgeSeconds: 300, reloadIntervalSeconds: 30 };
    pruned = newKey({ retiredAt: T0 - 10_000 });
    current = newKey({ createdAt: T0 - 10_000, activatesAt: T0 - 10_000 });
    const store = new DirectoryKeyStore(dir);
    await store.save(pruned);
    await store.save(current);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await rm(root, { recursive: true, force: true });
  });

  /**
   * Rotates on instance A; when A is about to prune, starts `read` on instance B and lets A
   * remove the pruned key only once B has listed the directory and is about to read the pruned
   * key's `file`; B's read goes on after the removal. Resolves to A and B's outcome.
   */
  async function rotateWhileReading<T>(file: 'json' | 'pem', read: () => Promise<T>): Promise<{ a: Keyring; b: Promise<T> }> {
    const a = await Keyring.open(new DirectoryKeyStore(dir), options);
    const target = path.join(dir, `${pruned.kid}.${file}`);
    const realReadFile = fsPromises.readFile;
    let atPrunedFile!: () => void;
    const reached = new Promise<void>((resolve) => (atPrunedFile = resolve));
    let removed!: () => void;
    const gone = new Promise<void>((resolve) => (removed = resolve));
    // Armed once A prunes: A's own reads before (rotate() reloads first) go through.
    let armed = false;
    jest.spyOn(fsPromises, 'readFile').mockImplementation((async (...args: Parameters<typeof realReadFile>) => {
      if (armed && args[0] === target) {
        armed = false;
        atPrunedFile();
        await gone;
      }
      return realReadFile(...args);
    }) as typeof realReadFile);
    const storeA = (a as unknown as { store: DirectoryKeyStore }).store;
    const realRemove = storeA.remove.bind(storeA);
    let b: Promise<T> | undefined;
    jest.spyOn(storeA, 'remove').mockImplementation(async (kid) => {
      if (kid === pruned.kid && b === undefined) {
        armed = true;
        b = read();
        // Keep an early rejection from counting as unhandled; the test awaits `b` itself.
        b.catch(() => undefined);
        await reached;
        await realRemove(kid);
        removed();
        return;
      }
      await realRemove(kid);
    });
    await a.rotate();
    expect(b).toBeDefined();
    return { a, b: b! };
  }

  it.each(['json', 'pem'] as const)('lets a reload that finds the pruned key\'s %s gone load the keys the rotation wrote', async (file) => {
    const b = await Keyring.open(new DirectoryKeyStore(dir), options);
    expect(b.list().map((key) => key.kid).sort()).toEqual([pruned.kid, current.kid].sort());
    const race = await rotateWhileReading(file, () => b.reload());
    await expect(race.b).resolves.toBeUndefined();
    expect(b.list()).toEqual(race.a.list());
    expect(b.list().map((key) => key.kid)).not.toContain(pruned.kid);
    expect(b.list().map((key) => key.state)).toEqual(['next', 'active']);
    // The new key is in B's JWKS and verifies on B as soon as it is published.
    const next = b.list()[0]!.kid;
    expect(b.jwks().keys.map((jwk) => jwk.kid)).toEqual([next, current.kid]);
    expect(b.verificationKey(next)).not.toBeNull();
  });

  it('lets an instance start during the pruning', async () => {
    const race = await rotateWhileReading('json', () => Keyring.open(new DirectoryKeyStore(dir), options));
    const b = await race.b;
    expect(b.list()).toEqual(race.a.list());
    expect(b.signingKey().kid).toBe(current.kid);
  });

  it('still refuses metadata whose PEM is missing while the metadata stays', async () => {
    const store = new DirectoryKeyStore(dir);
    await rm(path.join(dir, `${current.kid}.pem`));
    await expect(store.load()).rejects.toMatchObject({ code: 'ERR_KEY_INVALID' });
  });
});
