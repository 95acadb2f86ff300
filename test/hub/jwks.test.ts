import { createPublicKey, createSign, createVerify, type JsonWebKey } from 'node:crypto';
import { startTestHub, type TestHub } from '../support/hub';

describe('GET /.well-known/jwks.json', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub.close());

  it('publishes only public fields, with kid, alg and use, as application/jwk-set+json', async () => {
    const res = await fetch(`${hub.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/jwk-set\+json/);
    expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    const body = (await res.json()) as { keys: Array<Record<string, string>> };
    expect(body.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of body.keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
      expect(key.use).toBe('sig');
      expect(key.alg).toBe('RS256');
    }
  });

  it('publishes the key that signs, so a verifier can check the hub signature with it', async () => {
    const body = (await (await fetch(`${hub.url}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, string>> };
    const signer = hub.deps.keyring.signingKey();
    const jwk = body.keys.find((k) => k.kid === signer.kid);
    expect(jwk).toBeDefined();
    const signature = createSign('SHA256').update('payload').sign(signer.privateKey);
    const publicKey = createPublicKey({ key: jwk as unknown as JsonWebKey, format: 'jwk' });
    expect(createVerify('SHA256').update('payload').verify(publicKey, signature)).toBe(true);
  });
});
