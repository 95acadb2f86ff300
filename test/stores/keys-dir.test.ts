import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FrozenClock } from '../../src/core/clock';
import { keyThumbprint } from '../../src/core/keys/jwk';
import { Keyring } from '../../src/core/keys/keyring';
import type { StoredKey } from '../../src/ports';
import { DirectoryKeyStore } from '../../src/stores/keys-dir/key-store';

const T0 = 1_700_000_000;

function newKey(times: Partial<StoredKey> = {}): StoredKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    kid: keyThumbprint(createPublicKey(privateKey)),
    alg: 'ES256',
    createdAt: T0,
    activatesAt: T0,
    retiredAt: null,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    ...times,
  };
}

const modeOf = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

describe('DirectoryKeyStore', () => {
  let root: string;
  let dir: string;
  let store: DirectoryKeyStore;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'tessera-keys-'));
    dir = path.join(root, 'keys');
    store = new DirectoryKeyStore(dir);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('holds no keys while the directory does not exist', async () => {
    expect(await store.load()).toEqual([]);
  });

  it('creates the directory 0700 and writes both files 0600, leaving no temporaries', async () => {
    const key = newKey();
    await store.save(key);
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(path.join(dir, `${key.kid}.pem`))).toBe(0o600);
    expect(await modeOf(path.join(dir, `${key.kid}.json`))).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual([`${key.kid}.json`, `${key.kid}.pem`]);
    expect(await readFile(path.join(dir, `${key.kid}.pem`), 'utf8')).toBe(key.privateKeyPem);
    expect(JSON.parse(await readFile(path.join(dir, `${key.kid}.json`), 'utf8'))).toEqual({
      kid: key.kid, alg: 'ES256', createdAt: T0, activatesAt: T0, retiredAt: null,
    });
  });

  it('reads back what it saved and replaces a key on save', async () => {
    const a = newKey();
    const b = newKey({ activatesAt: T0 + 300 });
    await store.save(a);
    await store.save(b);
    await store.save({ ...a, retiredAt: T0 + 300 });
    const loaded = await store.load();
    expect(loaded).toHaveLength(2);
    expect(loaded).toEqual(expect.arrayContaining([{ ...a, retiredAt: T0 + 300 }, b]));
  });

  it('removes both files of a key', async () => {
    const a = newKey();
    const b = newKey();
    await store.save(a);
    await store.save(b);
    await store.remove(a.kid);
    expect(await store.load()).toEqual([b]);
    expect((await readdir(dir)).sort()).toEqual([`${b.kid}.json`, `${b.kid}.pem`]);
  });

  it('ignores unrelated files, temporaries and a PEM without metadata', async () => {
    const key = newKey();
    await store.save(key);
    await writeFile(path.join(dir, 'README.md'), 'keys live here\n');
    await writeFile(path.join(dir, '.gitignore'), '*\n');
    await writeFile(path.join(dir, `.${key.kid}.json.0011223344556677.tmp`), '{');
    await writeFile(path.join(dir, 'unfinished.pem'), newKey().privateKeyPem);
    expect(await store.load()).toEqual([key]);
  });

  it('refuses metadata without its PEM', async () => {
    const key = newKey();
    await store.save(key);
    await rm(path.join(dir, `${key.kid}.pem`));
    await expect(store.load()).rejects.toMatchObject({ code: 'ERR_KEY_INVALID' });
  });

  it('refuses metadata whose kid differs from its file name', async () => {
    const key = newKey();
    await store.save(key);
    const file = path.join(dir, `${key.kid}.json`);
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), kid: 'other' }));
    await expect(store.load()).rejects.toMatchObject({ code: 'ERR_KEY_INVALID' });
  });

  it('refuses metadata with a bad timestamp', async () => {
    const key = newKey();
    await store.save(key);
    const file = path.join(dir, `${key.kid}.json`);
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), activatesAt: 'soon' }));
    await expect(store.load()).rejects.toMatchObject({ code: 'ERR_KEY_INVALID' });
  });

  it('refuses a kid that could name a file outside the directory', async () => {
    await expect(store.save({ ...newKey(), kid: '../escape' })).rejects.toMatchObject({ code: 'ERR_KEY_INVALID' });
    await expect(store.remove('../escape')).rejects.toMatchObject({ code: 'ERR_KEY_INVALID' });
    expect(await readdir(root)).toEqual([]);
  });

  it('backs a Keyring: the first start writes an RSA key that a second start reads', async () => {
    const clock = new FrozenClock(T0 * 1000);
    const opts = { algorithm: 'RS256' as const, clock, maxTokenTtlSeconds: 35, jwksMaxAgeSeconds: 300 };
    const first = await Keyring.open(store, opts);
    const kid = first.signingKey().kid;
    expect(await modeOf(path.join(dir, `${kid}.pem`))).toBe(0o600);
    const onGenerated = jest.fn();
    const second = await Keyring.open(new DirectoryKeyStore(dir), { ...opts, onGenerated });
    expect(onGenerated).not.toHaveBeenCalled();
    expect(second.signingKey().kid).toBe(kid);
  });
});
