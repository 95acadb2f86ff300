/**
 * The `keys/` directory as a {@link KeyStore}: for each key, `<kid>.pem` (PKCS#8 private key)
 * and `<kid>.json` (kid, alg, timestamps). In production the directory is mounted from a
 * secret store and shared by every hub instance.
 *
 * - Files are written to a temporary name and renamed into place, so an instance reloading
 *   while the CLI rotates reads either the old file or the new one, never half of one.
 * - The PEM is written before the metadata and removed after it: a `<kid>.json` therefore
 *   always has its key, and a lone `<kid>.pem` is an unfinished write, ignored.
 * - A key removed between listing the directory and reading its files (another instance's
 *   rotation pruning a key whose grace ended) is simply not loaded: the listing is a moment's
 *   view, and failing the whole read would keep a reloading instance on its old keys (no `next`
 *   key to publish or verify with) until its next reload, and stop a starting one.
 * - Private material is created with mode 0600 and a directory this store creates gets 0700;
 *   an existing directory keeps its mode (it may be a read-only mount).
 * - Other files (README, .gitignore, temporaries) are ignored.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { TesseraError } from '../../core/errors';
import type { KeyStore, SigningAlgorithm, StoredKey } from '../../ports';

/** A kid is an RFC 7638 thumbprint (43 base64url characters); anything else never names a file. */
const KID = /^[A-Za-z0-9_-]{1,64}$/;
const METADATA_FILE = /^([A-Za-z0-9_-]{1,64})\.json$/;

type KeyMetadata = Omit<StoredKey, 'privateKeyPem'>;

/**
 * @example
 * const keyring = await Keyring.open(new DirectoryKeyStore('/etc/tessera/keys'), options);
 */
export class DirectoryKeyStore implements KeyStore {
  constructor(private readonly dir: string) {}

  /** Every key in the directory, by kid; an absent directory holds no keys. */
  async load(): Promise<StoredKey[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const keys: StoredKey[] = [];
    for (const name of names.sort()) {
      const kid = METADATA_FILE.exec(name)?.[1];
      if (kid === undefined) continue;
      const text = await readIfPresent(path.join(this.dir, name));
      if (text === null) continue;
      const metadata = parseMetadata(kid, text);
      const privateKeyPem = await this.readPem(kid);
      if (privateKeyPem !== null) keys.push({ ...metadata, privateKeyPem });
    }
    return keys;
  }

  /** Writes `<kid>.pem` then `<kid>.json`, each atomically with mode 0600. */
  async save(key: StoredKey): Promise<void> {
    assertKid(key.kid);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const metadata: KeyMetadata = { kid: key.kid, alg: key.alg, createdAt: key.createdAt, activatesAt: key.activatesAt, retiredAt: key.retiredAt };
    await this.writeAtomically(`${key.kid}.pem`, key.privateKeyPem);
    await this.writeAtomically(`${key.kid}.json`, `${JSON.stringify(metadata, null, 2)}\n`);
  }

  /** Deletes `<kid>.json` then `<kid>.pem`; a missing file is not an error. */
  async remove(kid: string): Promise<void> {
    assertKid(kid);
    await rm(path.join(this.dir, `${kid}.json`), { force: true });
    await rm(path.join(this.dir, `${kid}.pem`), { force: true });
  }

  /**
   * The PEM of a key whose metadata was just read; null when the key was removed meanwhile
   * (`remove` deletes the metadata first, so it is gone too). A PEM missing next to metadata
   * that is still there is a broken directory: `ERR_KEY_INVALID`.
   */
  private async readPem(kid: string): Promise<string | null> {
    const pem = await readIfPresent(path.join(this.dir, `${kid}.pem`));
    if (pem !== null) return pem;
    try {
      await access(path.join(this.dir, `${kid}.json`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    throw new TesseraError('ERR_KEY_INVALID', `${kid}.json has no ${kid}.pem next to it`);
  }

  private async writeAtomically(name: string, content: string): Promise<void> {
    // A dot-name never matches METADATA_FILE, so a temporary left by a crash is ignored.
    const temporary = path.join(this.dir, `.${name}.${randomBytes(8).toString('hex')}.tmp`);
    try {
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(content, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, path.join(this.dir, name));
    } catch (err) {
      await rm(temporary, { force: true });
      throw err;
    }
  }
}

/** The file's text, or null when it does not exist (any more). */
async function readIfPresent(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function assertKid(kid: string): void {
  // The kid becomes a file name: refuse anything that could leave the directory.
  if (!KID.test(kid)) throw new TesseraError('ERR_KEY_INVALID', 'a kid must be 1 to 64 base64url characters');
}

function parseMetadata(kid: string, text: string): KeyMetadata {
  const invalid = (why: string): TesseraError => new TesseraError('ERR_KEY_INVALID', `${kid}.json: ${why}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new TesseraError('ERR_KEY_INVALID', `${kid}.json: not JSON`, { cause });
  }
  if (typeof value !== 'object' || value === null) throw invalid('not a JSON object');
  const record = value as Record<string, unknown>;
  if (record.kid !== kid) throw invalid('"kid" differs from the file name');
  if (record.alg !== 'RS256' && record.alg !== 'ES256') throw invalid('"alg" must be RS256 or ES256');
  for (const field of ['createdAt', 'activatesAt'] as const) {
    if (!Number.isSafeInteger(record[field])) throw invalid(`"${field}" must be whole Unix seconds`);
  }
  if (record.retiredAt !== null && !Number.isSafeInteger(record.retiredAt)) throw invalid('"retiredAt" must be whole Unix seconds or null');
  return {
    kid,
    alg: record.alg as SigningAlgorithm,
    createdAt: record.createdAt as number,
    activatesAt: record.activatesAt as number,
    retiredAt: record.retiredAt as number | null,
  };
}
