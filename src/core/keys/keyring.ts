/**
 * The hub's signing keys (DESIGN.md "Keys and JWKS"): which key signs now, which keys verify,
 * what the JWKS publishes, and rotation.
 *
 * Rotation model. A key's state is never stored; it is derived from two timestamps and the
 * clock, so every hub instance reading the same `keys/` agrees on the signing key at any
 * moment without anyone writing at the moment of change:
 *
 *   next     now < activatesAt               published, does not sign yet
 *   active   activatesAt <= now < retiredAt  signs (retiredAt null = open-ended)
 *   retired  retiredAt <= now                published until retiredAt + grace, then dropped
 *
 * `rotate()` saves a new key at time T (taken once the key is generated, which can take seconds,
 * and rounded up to a whole second) with activatesAt = T + W and sets the old key's
 * retiredAt = T + W, where W = jwksMaxAge + reloadInterval: every JWKS cache filled before T has
 * expired, and every hub instance has reloaded, before the new key signs its first token
 * (publish, then sign). The old key stays published for grace = maxTokenTtl + jwksMaxAge after
 * it stopped signing: the token TTL covers every token it signed, the cache time is a margin
 * for clock skew between instances and verifiers (then retire). So a token minted before,
 * during or after a rotation verifies until it expires. The margin is at least
 * LATE_VERIFICATION_SECONDS, however short the cache time: the hub itself still verifies a
 * handoff token that long past its expiry, as the proof of a site's link report.
 *
 * If windows ever overlap (two instances generating a first key at once, a rotation
 * interrupted between its two writes), the active key with the latest `activatesAt` signs
 * (ties: latest `createdAt`, then greatest kid): still one answer for every instance.
 *
 * Keys are validated when loaded: RSA under 2048 bits or EC other than P-256 is refused
 * (RFC 8725 §3.5), and the stored kid must be the key's RFC 7638 thumbprint.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { nowSeconds, type Clock } from '../clock';
import { TesseraError } from '../errors';
import type { KeyState, KeyStore, SigningAlgorithm, StoredKey } from '../../ports';
import { publicJwk, type PublicJwk } from './jwk';

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * How long past its expiry the hub may still verify a token it signed (a link report's proof,
 * src/hub/site-api/link-proof.ts): a retired key stays published at least this long after the
 * last token it signed expired.
 */
export const LATE_VERIFICATION_SECONDS = 300;

export interface KeyringOptions {
  /** Algorithm of keys this keyring generates (existing keys keep their own). */
  algorithm: SigningAlgorithm;
  clock: Clock;
  /** Longest lifetime of a token signed by these keys (the handoff cap is 120 s). */
  maxTokenTtlSeconds: number;
  /** `Cache-Control: max-age` of the JWKS response. */
  jwksMaxAgeSeconds: number;
  /** How often hub instances call `reload()`; a new key waits this much longer as `next`. Default 0. */
  reloadIntervalSeconds?: number;
  /** Called with the kid of a key generated because the store was empty (the hub logs it). */
  onGenerated?: (kid: string) => void;
}

/** What `list()` and `rotate()` tell about a key: no private material. */
export interface KeyInfo {
  kid: string;
  alg: SigningAlgorithm;
  state: KeyState;
  createdAt: number;
  activatesAt: number;
  retiredAt: number | null;
  /** When the key leaves the JWKS; null while it has no retirement time. */
  publishedUntil: number | null;
}

/** The key that signs now. */
export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: KeyObject;
}

/** A key that verifies tokens carrying its kid. */
export interface VerificationKey {
  alg: SigningAlgorithm;
  publicKey: KeyObject;
}

/** A stored key with its key objects, built once per load: the lookups below are per token. */
interface LoadedKey {
  stored: StoredKey;
  signing: SigningKey;
  verification: VerificationKey;
  jwk: PublicJwk;
}

/**
 * The hub's keys, read through a {@link KeyStore}.
 *
 * @example
 * const keyring = await Keyring.open(new DirectoryKeyStore('keys'), {
 *   algorithm: 'RS256', clock: systemClock, maxTokenTtlSeconds: 120, jwksMaxAgeSeconds: 300,
 *   onGenerated: (kid) => log.warn({ kid }, 'generated a new signing key'),
 * });
 * const { kid, privateKey } = keyring.signingKey();
 */
export class Keyring {
  private keys: LoadedKey[];
  private byKid: Map<string, LoadedKey>;

  private constructor(
    private readonly store: KeyStore,
    private readonly options: Required<Omit<KeyringOptions, 'onGenerated'>>,
    keys: LoadedKey[],
  ) {
    this.keys = keys;
    this.byKid = new Map(keys.map((key) => [key.stored.kid, key]));
  }

  /**
   * Loads and validates every stored key; when the store is empty, generates a first key that
   * signs at once, saves it and calls `onGenerated`.
   */
  static async open(store: KeyStore, options: KeyringOptions): Promise<Keyring> {
    const checked = {
      algorithm: options.algorithm,
      clock: options.clock,
      maxTokenTtlSeconds: positiveInteger('maxTokenTtlSeconds', options.maxTokenTtlSeconds),
      jwksMaxAgeSeconds: nonNegativeInteger('jwksMaxAgeSeconds', options.jwksMaxAgeSeconds),
      reloadIntervalSeconds: nonNegativeInteger('reloadIntervalSeconds', options.reloadIntervalSeconds ?? 0),
    };
    if (checked.algorithm !== 'RS256' && checked.algorithm !== 'ES256') {
      throw new TesseraError('ERR_CONFIG_INVALID', `"algorithm" must be RS256 or ES256, got ${String(checked.algorithm)}`);
    }
    let keys = loadKeys(await store.load());
    if (keys.length === 0) {
      const material = await generateKey(checked.algorithm);
      const now = nowSeconds(checked.clock);
      const first: StoredKey = { ...material, createdAt: now, activatesAt: now, retiredAt: null };
      await store.save(first);
      keys = loadKeys([first]);
      options.onGenerated?.(first.kid);
    }
    return new Keyring(store, checked, keys);
  }

  /** The key that signs now. Throws `ERR_KEY_NO_ACTIVE` when every key is `next` or retired. */
  signingKey(): SigningKey {
    const key = this.signer(this.now());
    if (!key) throw new TesseraError('ERR_KEY_NO_ACTIVE', 'no active signing key');
    return key.signing;
  }

  /** The public key for `kid` while it is published (next, active, retired within its grace); else null. */
  verificationKey(kid: string): VerificationKey | null {
    const key = this.byKid.get(kid);
    return key && this.isPublished(key, this.now()) ? key.verification : null;
  }

  /** The JWK Set to publish: the allow-listed public JWK of every published key, newest first. */
  jwks(): { keys: PublicJwk[] } {
    const now = this.now();
    return { keys: this.newestFirst().filter((key) => this.isPublished(key, now)).map((key) => key.jwk) };
  }

  /** Every stored key with its state now, newest first. */
  list(): KeyInfo[] {
    const now = this.now();
    return this.newestFirst().map((key) => this.info(key.stored, now));
  }

  /**
   * Starts a rotation: saves a new key as `next`, to sign once every JWKS cache and hub
   * instance knows it, and schedules the current key's retirement for that moment. Drops keys
   * whose grace has ended. Refuses (`ERR_KEY_STATE`) while a `next` key is pending.
   */
  async rotate(): Promise<KeyInfo> {
    await this.reload();
    const now = this.now();
    const pending = this.keys.find((key) => stateAt(key.stored, now) === 'next');
    if (pending) {
      throw new TesseraError('ERR_KEY_STATE', `rotation in progress: key ${pending.stored.kid} activates at ${pending.stored.activatesAt}`);
    }
    const material = await generateKey(this.options.algorithm);
    // Timed from after the generation, which takes up to seconds: an instance that listed the
    // keys just before the save must still learn of the key a whole window before it signs. The
    // start is rounded up to a whole second, which the window must not lose either.
    const savedAtMs = this.options.clock.now();
    const savedAt = Math.floor(savedAtMs / 1000);
    const activatesAt = this.signer(savedAt) ? Math.ceil(savedAtMs / 1000) + this.options.jwksMaxAgeSeconds + this.options.reloadIntervalSeconds : savedAt;
    const fresh: StoredKey = { ...material, createdAt: savedAt, activatesAt, retiredAt: null };
    // The new key is saved before the old one is scheduled to retire, so a reader never sees
    // the old key ending without its successor.
    await this.store.save(fresh);
    for (const key of this.keys) {
      if (key.stored.retiredAt === null) await this.store.save({ ...key.stored, retiredAt: activatesAt });
    }
    await this.dropExpired(savedAt);
    await this.reload();
    return this.info(fresh, savedAt);
  }

  /**
   * Retires a key now.
   * - `active`: the pending `next` key takes over at once (its JWKS publication may be younger
   *   than the cache time, so destinations may fetch the JWKS once more); without one,
   *   `ERR_KEY_STATE` (run `rotate` first). The retired key still verifies during its grace.
   * - `next`: the rotation is cancelled; the key it was to replace stays active.
   * - already retired: `ERR_KEY_STATE`. Unknown kid: `ERR_KEY_UNKNOWN`.
   */
  async retire(kid: string): Promise<void> {
    await this.reload();
    const now = this.now();
    const key = this.byKid.get(kid);
    if (!key) throw new TesseraError('ERR_KEY_UNKNOWN', `no key ${kid}`);
    const state = stateAt(key.stored, now);
    if (state === 'retired') throw new TesseraError('ERR_KEY_STATE', `key ${kid} is already retired`);
    if (state === 'active') {
      const successor = this.keys
        .filter((other) => stateAt(other.stored, now) === 'next')
        .sort((a, b) => a.stored.activatesAt - b.stored.activatesAt)[0];
      if (!successor) throw new TesseraError('ERR_KEY_STATE', `key ${kid} is the only signing key: run "tessera keys rotate" first`);
      await this.store.save({ ...successor.stored, activatesAt: now });
    } else {
      for (const replaced of this.keys) {
        if (replaced !== key && replaced.stored.retiredAt === key.stored.activatesAt) {
          await this.store.save({ ...replaced.stored, retiredAt: null });
        }
      }
    }
    await this.store.save({ ...key.stored, retiredAt: now });
    await this.dropExpired(now);
    await this.reload();
  }

  /**
   * Re-reads the store, e.g. a rotation done by the CLI in another process. On a validation
   * error the keys loaded before stay in use and the error is thrown.
   */
  async reload(): Promise<void> {
    const keys = loadKeys(await this.store.load());
    this.keys = keys;
    this.byKid = new Map(keys.map((key) => [key.stored.kid, key]));
  }

  private now(): number {
    return nowSeconds(this.options.clock);
  }

  private signer(now: number): LoadedKey | undefined {
    let best: LoadedKey | undefined;
    for (const key of this.keys) {
      if (stateAt(key.stored, now) === 'active' && (!best || signsBefore(best.stored, key.stored))) best = key;
    }
    return best;
  }

  private publishedUntil(key: StoredKey): number | null {
    return key.retiredAt === null ? null : key.retiredAt + this.options.maxTokenTtlSeconds + Math.max(this.options.jwksMaxAgeSeconds, LATE_VERIFICATION_SECONDS);
  }

  private isPublished(key: LoadedKey, now: number): boolean {
    const until = this.publishedUntil(key.stored);
    return until === null || now < until;
  }

  /** Removes the files of keys that no token can need any more: private keys kept no longer than useful. */
  private async dropExpired(now: number): Promise<void> {
    for (const key of this.keys) {
      if (!this.isPublished(key, now)) await this.store.remove(key.stored.kid);
    }
  }

  private newestFirst(): LoadedKey[] {
    return [...this.keys].sort((a, b) => (signsBefore(a.stored, b.stored) ? 1 : -1));
  }

  private info(key: StoredKey, now: number): KeyInfo {
    const { kid, alg, createdAt, activatesAt, retiredAt } = key;
    return { kid, alg, state: stateAt(key, now), createdAt, activatesAt, retiredAt, publishedUntil: this.publishedUntil(key) };
  }
}

/** The state of `key` at `now` (see the header comment). */
function stateAt(key: StoredKey, now: number): KeyState {
  if (key.retiredAt !== null && key.retiredAt <= now) return 'retired';
  return now < key.activatesAt ? 'next' : 'active';
}

/** True when `a` would yield to `b` as the signing key (b activated later). */
function signsBefore(a: StoredKey, b: StoredKey): boolean {
  if (a.activatesAt !== b.activatesAt) return a.activatesAt < b.activatesAt;
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt;
  return a.kid < b.kid;
}

/** Validates every stored key; throws on the first bad one or on a duplicate kid. */
function loadKeys(stored: StoredKey[]): LoadedKey[] {
  const seen = new Set<string>();
  return stored.map((key) => {
    if (seen.has(key.kid)) throw new TesseraError('ERR_KEY_DUPLICATE_KID', `two keys with kid ${key.kid}`);
    seen.add(key.kid);
    return loadKey(key);
  });
}

function loadKey(stored: StoredKey): LoadedKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(stored.privateKeyPem);
  } catch (cause) {
    throw new TesseraError('ERR_KEY_INVALID', `key ${stored.kid}: unreadable private key`, { cause });
  }
  const details = privateKey.asymmetricKeyDetails ?? {};
  if (privateKey.asymmetricKeyType === 'rsa') {
    if ((details.modulusLength ?? 0) < 2048) {
      throw new TesseraError('ERR_KEY_TOO_WEAK', `key ${stored.kid}: RSA key of ${String(details.modulusLength)} bits, at least 2048 required`);
    }
    if (stored.alg !== 'RS256') throw new TesseraError('ERR_KEY_INVALID', `key ${stored.kid}: an RSA key cannot sign ${stored.alg}`);
  } else if (privateKey.asymmetricKeyType === 'ec') {
    if (details.namedCurve !== 'prime256v1') {
      throw new TesseraError('ERR_KEY_TOO_WEAK', `key ${stored.kid}: EC curve ${String(details.namedCurve)}, only P-256 is accepted`);
    }
    if (stored.alg !== 'ES256') throw new TesseraError('ERR_KEY_INVALID', `key ${stored.kid}: a P-256 key cannot sign ${stored.alg}`);
  } else {
    throw new TesseraError('ERR_KEY_INVALID', `key ${stored.kid}: unsupported key type ${String(privateKey.asymmetricKeyType)}`);
  }
  const publicKey = createPublicKey(privateKey);
  const jwk = publicJwk(publicKey, stored.alg);
  if (jwk.kid !== stored.kid) {
    throw new TesseraError('ERR_KEY_INVALID', `key ${stored.kid}: kid is not the key's RFC 7638 thumbprint (${jwk.kid})`);
  }
  return {
    stored,
    signing: Object.freeze({ kid: stored.kid, alg: stored.alg, privateKey }),
    verification: Object.freeze({ alg: stored.alg, publicKey }),
    jwk,
  };
}

/** A new key pair's private half and kid; the caller times it once it exists. */
async function generateKey(alg: SigningAlgorithm): Promise<Pick<StoredKey, 'kid' | 'alg' | 'privateKeyPem'>> {
  const { privateKey } =
    alg === 'RS256'
      ? await generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 })
      : await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const { kid } = publicJwk(createPublicKey(privateKey), alg);
  return { kid, alg, privateKeyPem };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TesseraError('ERR_CONFIG_INVALID', `"${name}" must be a positive integer`);
  return value;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new TesseraError('ERR_CONFIG_INVALID', `"${name}" must be a non-negative integer`);
  return value;
}
