import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { FrozenClock } from '../../../src/core/clock';
import { keyThumbprint } from '../../../src/core/keys/jwk';
import { Keyring, type KeyringOptions } from '../../../src/core/keys/keyring';
import { mintHandoff, verifyHandoff } from '../../../src/core/tokens/handoff';
import type { KeyStore, SigningAlgorithm, StoredKey } from '../../../src/ports';
import { MemoryKeyStore } from '../../../src/stores/memory/key-store';
import { codeOf } from '../../support/errors';

const T0 = 1_700_000_000;
const MAX_TTL = 35;
const JWKS_MAX_AGE = 300;
const GRACE = MAX_TTL + JWKS_MAX_AGE;

function options(clock: FrozenClock, extra: Partial<KeyringOptions> = {}): KeyringOptions {
  return { algorithm: 'RS256', clock, maxTokenTtlSeconds: MAX_TTL, jwksMaxAgeSeconds: JWKS_MAX_AGE, ...extra };
}

function stored(privateKey: KeyObject, alg: SigningAlgorithm, times: Partial<StoredKey> = {}): StoredKey {
  return {
    kid: keyThumbprint(createPublicKey(privateKey)),
    alg,
    createdAt: T0,
    activatesAt: T0,
    retiredAt: null,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    ...times,
  };
}

/** The code of the error `promise` rejects with, or 'resolved'. */

describe('Keyring.open', () => {
  it('generates, saves and announces one RS256 key when the store is empty', async () => {
    const store = new MemoryKeyStore();
    const onGenerated = jest.fn();
    const keyring = await Keyring.open(store, options(new FrozenClock(T0 * 1000), { onGenerated }));

    const saved = await store.load();
    expect(saved).toHaveLength(1);
    const key = saved[0]!;
    expect(onGenerated).toHaveBeenCalledWith(key.kid);
    expect(key.kid).toBe(keyThumbprint(createPublicKey(key.privateKeyPem)));
    expect(createPublicKey(key.privateKeyPem).asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(key).toMatchObject({ alg: 'RS256', createdAt: T0, activatesAt: T0, retiredAt: null });
    expect(keyring.signingKey().kid).toBe(key.kid);
    expect(keyring.list()).toEqual([{ kid: key.kid, alg: 'RS256', state: 'active', createdAt: T0, activatesAt: T0, retiredAt: null, publishedUntil: null }]);
  });

  it('generates a P-256 key for ES256', async () => {
    const keyring = await Keyring.open(new MemoryKeyStore(), options(new FrozenClock(T0 * 1000), { algorithm: 'ES256' }));
    expect(keyring.jwks().keys).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })]);
  });

  it('loads existing keys without generating one', async () => {
    const store = new MemoryKeyStore();
    const key = stored(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256');
    await store.save(key);
    const onGenerated = jest.fn();
    const keyring = await Keyring.open(store, options(new FrozenClock(T0 * 1000), { onGenerated }));
    expect(onGenerated).not.toHaveBeenCalled();
    expect(keyring.signingKey().kid).toBe(key.kid);
    expect(await store.load()).toHaveLength(1);
  });

  it('refuses RSA keys under 2048 bits', async () => {
    const store = new MemoryKeyStore();
    await store.save(stored(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey, 'RS256'));
    expect(await codeOf(Keyring.open(store, options(new FrozenClock(T0 * 1000))))).toBe('ERR_KEY_TOO_WEAK');
  });

  it('refuses EC keys on curves other than P-256', async () => {
    const store = new MemoryKeyStore();
    await store.save(stored(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, 'ES256'));
    expect(await codeOf(Keyring.open(store, options(new FrozenClock(T0 * 1000))))).toBe('ERR_KEY_TOO_WEAK');
  });

  it('refuses two keys with the same kid', async () => {
    const key = stored(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256');
    const store: KeyStore = { load: async () => [key, { ...key, createdAt: T0 + 1 }], save: jest.fn(), remove: jest.fn() };
    expect(await codeOf(Keyring.open(store, options(new FrozenClock(T0 * 1000))))).toBe('ERR_KEY_DUPLICATE_KID');
  });

  it('refuses a stored kid that is not the key thumbprint', async () => {
    const store = new MemoryKeyStore();
    await store.save({ ...stored(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256'), kid: 'not-the-thumbprint' });
    expect(await codeOf(Keyring.open(store, options(new FrozenClock(T0 * 1000))))).toBe('ERR_KEY_INVALID');
  });

  it('refuses a key stored with an algorithm its type cannot sign', async () => {
    const store = new MemoryKeyStore();
    await store.save(stored(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'RS256'));
    expect(await codeOf(Keyring.open(store, options(new FrozenClock(T0 * 1000))))).toBe('ERR_KEY_INVALID');
  });

  it('validates its options up front', async () => {
    const clock = new FrozenClock(T0 * 1000);
    expect(await codeOf(Keyring.open(new MemoryKeyStore(), options(clock, { maxTokenTtlSeconds: 0 })))).toBe('ERR_CONFIG_INVALID');
    expect(await codeOf(Keyring.open(new MemoryKeyStore(), options(clock, { algorithm: 'HS256' as SigningAlgorithm })))).toBe('ERR_CONFIG_INVALID');
  });
});

describe('Keyring publication', () => {
  it('publishes allow-listed public members with kid, alg and use', async () => {
    const keyring = await Keyring.open(new MemoryKeyStore(), options(new FrozenClock(T0 * 1000)));
    const [jwk] = keyring.jwks().keys;
    expect(Object.keys(jwk!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(jwk).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: keyring.signingKey().kid });
  });

  it('has no signing key when every key is retired, but still verifies within the grace', async () => {
    const store = new MemoryKeyStore();
    const key = stored(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256', { retiredAt: T0 + 10 });
    await store.save(key);
    const clock = new FrozenClock((T0 + 10) * 1000);
    const keyring = await Keyring.open(store, options(clock));
    expect(() => keyring.signingKey()).toThrow(expect.objectContaining({ code: 'ERR_KEY_NO_ACTIVE' }));
    expect(keyring.verificationKey(key.kid)).not.toBeNull();
    clock.set((T0 + 10 + GRACE) * 1000);
    expect(keyring.verificationKey(key.kid)).toBeNull();
    expect(keyring.jwks().keys).toEqual([]);
  });

  it('keeps the keys it had when a reload finds invalid ones', async () => {
    const store = new MemoryKeyStore();
    const keyring = await Keyring.open(store, options(new FrozenClock(T0 * 1000), { algorithm: 'ES256' }));
    const kid = keyring.signingKey().kid;
    await store.save(stored(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey, 'RS256'));
    expect(await codeOf(keyring.reload())).toBe('ERR_KEY_TOO_WEAK');
    expect(keyring.signingKey().kid).toBe(kid);
    expect(keyring.list()).toHaveLength(1);
  });
});

describe('Keyring rotation', () => {
  const issuer = 'https://login.example.com';
  const site = { audience: 'https://www.example.org', destinationHost: 'www.example.org' };
  const sid = 'c2Vzc2lvbi1pZC0xMjM0NQ';

  function verifier(keyring: Keyring, clock: FrozenClock) {
    return (token: string) =>
      verifyHandoff(token, {
        keys: (kid) => keyring.verificationKey(kid),
        algorithms: ['RS256', 'ES256'],
        issuer,
        ...site,
        isKnownSource: (host) => host === 'login.example.com',
        clock,
      });
  }

  function mint(keyring: Keyring, clock: FrozenClock): string {
    return mintHandoff(keyring, { audience: site.audience, sid, src: 'login.example.com' }, { clock, issuer, ttlSeconds: 30 });
  }

  it('verifies tokens minted before, during and after a rotation', async () => {
    const clock = new FrozenClock(T0 * 1000);
    const store = new MemoryKeyStore();
    const keyring = await Keyring.open(store, options(clock));
    const verify = verifier(keyring, clock);
    const old = keyring.signingKey().kid;

    // Before: a token minted just before the rotation.
    const before = mint(keyring, clock);
    clock.advance(1000);
    const added = await keyring.rotate();
    expect(added).toMatchObject({ state: 'next', activatesAt: T0 + 1 + JWKS_MAX_AGE, retiredAt: null });
    expect((await verify(before)).kid).toBe(old);

    // During: the new key is published but the old one still signs.
    expect(keyring.signingKey().kid).toBe(old);
    expect(keyring.jwks().keys.map((k) => k.kid).sort()).toEqual([added.kid, old].sort());
    clock.set((added.activatesAt - 1) * 1000);
    const during = mint(keyring, clock);

    // After: the new key signs; the old one is retired but still verifies its tokens.
    clock.set((added.activatesAt + 20) * 1000);
    expect(keyring.signingKey().kid).toBe(added.kid);
    expect(keyring.list().map((k) => [k.kid, k.state])).toEqual([
      [added.kid, 'active'],
      [old, 'retired'],
    ]);
    expect((await verify(during)).kid).toBe(old);
    const after = mint(keyring, clock);
    expect((await verify(after)).kid).toBe(added.kid);

    // Once every token of the old key has expired and caches refreshed, it leaves the JWKS.
    clock.set((added.activatesAt + GRACE) * 1000);
    expect(keyring.verificationKey(old)).toBeNull();
    expect(keyring.jwks().keys.map((k) => k.kid)).toEqual([added.kid]);
  });

  it('waits for the reload interval too before a new key signs', async () => {
    const clock = new FrozenClock(T0 * 1000);
    const keyring = await Keyring.open(new MemoryKeyStore(), options(clock, { algorithm: 'ES256', reloadIntervalSeconds: 30 }));
    expect((await keyring.rotate()).activatesAt).toBe(T0 + JWKS_MAX_AGE + 30);
  });

  it('lets another instance pick up a rotation on reload, agreeing on the signing key at every moment', async () => {
    const clock = new FrozenClock(T0 * 1000);
    const store = new MemoryKeyStore();
    const hub = await Keyring.open(store, options(clock, { algorithm: 'ES256' }));
    const cli = await Keyring.open(store, options(clock, { algorithm: 'ES256' }));
    const added = await cli.rotate();
    expect(hub.verificationKey(added.kid)).toBeNull();
    await hub.reload();
    expect(hub.verificationKey(added.kid)).not.toBeNull();
    for (const at of [T0, added.activatesAt - 1, added.activatesAt, added.activatesAt + GRACE]) {
      clock.set(at * 1000);
      expect(hub.signingKey().kid).toBe(cli.signingKey().kid);
    }
    expect(hub.signingKey().kid).toBe(added.kid);
  });

  it('refuses a second rotation while a next key is pending', async () => {
    const clock = new FrozenClock(T0 * 1000);
    const keyring = await Keyring.open(new MemoryKeyStore(), options(clock, { algorithm: 'ES256' }));
    await keyring.rotate();
    expect(await codeOf(keyring.rotate())).toBe('ERR_KEY_STATE');
  });

  it('removes the files of keys whose grace has ended when rotating', async () => {
    const clock = new FrozenClock(T0 * 1000);
    const store = new MemoryKeyStore();
    const keyring = await Keyring.open(store, options(clock, { algorithm: 'ES256' }));
    const first = keyring.signingKey().kid;
    const second = await keyring.rotate();
    clock.set((second.activatesAt + GRACE) * 1000);
    const third = await keyring.rotate();
    expect((await store.load()).map((k) => k.kid).sort()).toEqual([second.kid, third.kid].sort());
    expect(keyring.list().map((k) => k.kid)).not.toContain(first);
  });

  it('retires the active key at once when a next key can take over', async () => {
    const clock = new FrozenClock(T0 * 1000);
    const keyring = await Keyring.open(new MemoryKeyStore(), options(clock));
    const verify = verifier(keyring, clock);
    const old = keyring.signingKey().kid;
    const minted = mint(keyring, clock);
    const added = await keyring.rotate();
    clock.advance(5000);
    await keyring.retire(old);
    expect(keyring.signingKey().kid).toBe(added.kid);
    expect(keyring.list().find((k) => k.kid === old)).toMatchObject({ state: 'retired', retiredAt: T0 + 5, publishedUntil: T0 + 5 + GRACE });
    expect((await verify(minted)).kid).toBe(old);
  });

  it('refuses to retire the only signing key', async () => {
    const keyring = await Keyring.open(new MemoryKeyStore(), options(new FrozenClock(T0 * 1000), { algorithm: 'ES256' }));
    expect(await codeOf(keyring.retire(keyring.signingKey().kid))).toBe('ERR_KEY_STATE');
  });

  it('cancels a rotation when the next key is retired', async () => {
    const clock = new FrozenClock(T0 * 1000);
    const keyring = await Keyring.open(new MemoryKeyStore(), options(clock, { algorithm: 'ES256' }));
    const old = keyring.signingKey().kid;
    const added = await keyring.rotate();
    await keyring.retire(added.kid);
    clock.set((added.activatesAt + 1) * 1000);
    expect(keyring.signingKey().kid).toBe(old);
    expect(keyring.list().find((k) => k.kid === old)).toMatchObject({ state: 'active', retiredAt: null });
    expect(keyring.list().find((k) => k.kid === added.kid)?.state).toBe('retired');
  });

  it('names unknown and already retired kids', async () => {
    const clock = new FrozenClock(T0 * 1000);
    const keyring = await Keyring.open(new MemoryKeyStore(), options(clock, { algorithm: 'ES256' }));
    const old = keyring.signingKey().kid;
    const added = await keyring.rotate();
    clock.set(added.activatesAt * 1000);
    expect(await codeOf(keyring.retire('no-such-kid'))).toBe('ERR_KEY_UNKNOWN');
    expect(await codeOf(keyring.retire(old))).toBe('ERR_KEY_STATE');
    expect(await codeOf(keyring.retire(added.kid))).toBe('ERR_KEY_STATE');
  });
});
