/**
 * Every token SECURITY.md says a receiver rejects, sent to a site running the SDK: a 4xx, no
 * cookie, no session, one log line with the reason code and never the token. Also the
 * Referer/Origin rule, and the JWKS behaviour behind the key lookup (bounded refetching,
 * cached keys through a hub outage).
 */
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { FrozenClock } from '../../src/core/clock';
import { Browser, newSid, startKoaSite, startStandInHub, testTls, type StandInHub, type TestSite, type Tls } from './support';

let tls: Tls;
let hub: StandInHub;
let site: TestSite;
const OTHER_SITE = 'https://shop.example.net';

beforeAll(async () => {
  tls = await testTls();
  hub = await startStandInHub(tls, new FrozenClock(Date.now()));
});

afterAll(() => hub.close());

beforeEach(async () => {
  hub.jwksDown = false;
  site = await startKoaSite(tls, hub, { sites: [OTHER_SITE] });
});

afterEach(() => site.close());

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');
const header = (extra: Record<string, unknown> = {}) => ({ alg: 'RS256', typ: 'handoff+jwt', kid: hub.keyring.signingKey().kid, ...extra });

/** Sends `token` as a script beacon and asserts a rejection with `code` that changed nothing. */
async function expectRejected(token: string, code: string, status = 400, headers: Record<string, string> = {}): Promise<void> {
  const browser = new Browser(tls);
  const res = await browser.get(`${site.url}/shared-session/${token}.js`, headers);
  expect(res.status).toBe(status);
  expect(res.setCookies).toEqual([]);
  expect(res.body).toBe('');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(site.logger.codes()).toEqual([code]);
  expect(site.logger.text()).not.toContain(token.split('.')[2] || token.slice(-20));
  expect((await browser.whoami(site)).tessera).toBeNull();
}

describe('tokens the receiver rejects', () => {
  it('alg none (with some signature bytes, or none at all through accept)', async () => {
    const unsigned = `${b64(JSON.stringify(header({ alg: 'none' })))}.${b64(JSON.stringify(hub.claimsFor(site.url, newSid())))}.`;
    await expectRejected(`${unsigned}AAAA`, 'ERR_HANDOFF_ALG');

    const browser = new Browser(tls);
    await browser.get(`${site.url}/shared-session/start?return_to=/`);
    const state = browser.cookies.get('tessera_state')!.value;
    const res = await browser.post(`${site.url}/shared-session/accept`, { token: unsigned, state, return_to: '/' });
    expect(res.status).toBe(400);
    expect(res.setCookies).toEqual([]);
    expect(site.logger.codes()).toEqual(['ERR_HANDOFF_ALG', 'ERR_HANDOFF_ALG']);
    expect((await browser.whoami(site)).tessera).toBeNull();
  });

  it('HS256 signed with the public key as the secret', async () => {
    const signingInput = `${b64(JSON.stringify(header({ alg: 'HS256' })))}.${b64(JSON.stringify(hub.claimsFor(site.url, newSid())))}`;
    const secret = hub.keyring.verificationKey(hub.keyring.signingKey().kid)!.publicKey.export({ type: 'spki', format: 'pem' });
    await expectRejected(`${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`, 'ERR_HANDOFF_ALG');
  });

  it('ES256 when only RS256 is configured', async () => {
    await expectRejected(hub.forge(header({ alg: 'ES256' }), hub.claimsFor(site.url, newSid())), 'ERR_HANDOFF_ALG');
  });

  it('a typ other than handoff+jwt', async () => {
    await expectRejected(hub.forge(header({ typ: 'JWT' }), hub.claimsFor(site.url, newSid())), 'ERR_HANDOFF_TYP');
  });

  it.each(['jku', 'x5u', 'jwk', 'x5c', 'crit'])('a %s header', async (name) => {
    await expectRejected(hub.forge(header({ [name]: name === 'crit' ? ['exp'] : 'https://evil.example/keys' }), hub.claimsFor(site.url, newSid())), 'ERR_HANDOFF_HEADER_FORBIDDEN');
  });

  it('a malformed kid, before any key lookup', async () => {
    const hits = hub.jwksHits;
    await expectRejected(hub.forge(header({ kid: '../../etc/passwd' }), hub.claimsFor(site.url, newSid())), 'ERR_HANDOFF_KID_MALFORMED');
    expect(hub.jwksHits).toBe(hits);
  });

  it('an unknown kid', async () => {
    await expectRejected(hub.forge(header({ kid: randomBytes(32).toString('base64url') }), hub.claimsFor(site.url, newSid())), 'ERR_HANDOFF_KID_UNKNOWN');
  });

  it('a signature by another key under the hub kid', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expectRejected(hub.forge(header(), hub.claimsFor(site.url, newSid()), other.privateKey), 'ERR_HANDOFF_SIGNATURE');
  });

  it('an issuer other than the hub', async () => {
    await expectRejected(hub.forge(header(), { ...hub.claimsFor(site.url, newSid()), iss: 'https://evil.example' }), 'ERR_HANDOFF_ISSUER');
  });

  it('a token for another site (aud)', async () => {
    await expectRejected(hub.mint({ audience: OTHER_SITE, sid: newSid(), sub: 'u' }), 'ERR_HANDOFF_AUDIENCE');
  });

  it('a dst that is not this site', async () => {
    await expectRejected(hub.forge(header(), { ...hub.claimsFor(site.url, newSid()), dst: 'shop.example.net' }), 'ERR_HANDOFF_DESTINATION');
  });

  it('a src that is neither the hub nor a configured site', async () => {
    await expectRejected(hub.mint({ audience: site.url, sid: newSid(), sub: 'u', src: 'evil.example' }), 'ERR_HANDOFF_SOURCE');
  });

  it('an expired token (beyond the clock tolerance)', async () => {
    const claims = hub.claimsFor(site.url, newSid());
    const exp = (claims.iat as number) - 6;
    await expectRejected(hub.forge(header(), { ...claims, iat: exp - 30, exp }), 'ERR_HANDOFF_EXPIRED');
  });

  it('an iat in the future', async () => {
    const claims = hub.claimsFor(site.url, newSid());
    await expectRejected(hub.forge(header(), { ...claims, iat: (claims.iat as number) + 60, exp: (claims.iat as number) + 90 }), 'ERR_HANDOFF_IAT_FUTURE');
  });

  it('a lifetime above 120 s', async () => {
    const claims = hub.claimsFor(site.url, newSid());
    await expectRejected(hub.forge(header(), { ...claims, exp: (claims.iat as number) + 121 }), 'ERR_HANDOFF_LIFETIME');
  });

  it('a token without jti', async () => {
    await expectRejected(hub.forge(header(), { ...hub.claimsFor(site.url, newSid()), jti: undefined }), 'ERR_HANDOFF_JTI_MISSING');
  });

  it('an oversize token, before parsing', async () => {
    const hits = hub.jwksHits;
    const claims = { ...hub.claimsFor(site.url, newSid()), padding: 'x'.repeat(4096) };
    await expectRejected(hub.forge(header(), claims), 'ERR_HANDOFF_OVERSIZE');
    expect(hub.jwksHits).toBe(hits);
  });

  it('a replayed token', async () => {
    const token = hub.mint({ audience: site.url, sid: newSid(), sub: 'u' });
    expect((await new Browser(tls).get(`${site.url}/shared-session/${token}.js`)).status).toBe(200);
    await expectRejected(token, 'ERR_HANDOFF_REPLAYED');
  });

  it('a token on an image beacon: 400 with the GIF, no cookie', async () => {
    const browser = new Browser(tls);
    const res = await browser.get(`${site.url}/shared-session/${hub.mint({ audience: OTHER_SITE, sid: newSid(), sub: 'u' })}.gif`);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('image/gif');
    expect(res.setCookies).toEqual([]);
  });

  it('a method other than GET on a beacon: 405', async () => {
    const res = await new Browser(tls).post(`${site.url}/shared-session/${hub.mint({ audience: site.url, sid: newSid(), sub: 'u' })}.js`, {});
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET');
    expect(res.setCookies).toEqual([]);
  });
});

describe('the embedding page (Referer / Origin)', () => {
  it('refuses a Referer naming another host, without spending the jti', async () => {
    const token = hub.mint({ audience: site.url, sid: newSid(), sub: 'u' });
    await expectRejected(token, 'ERR_HANDOFF_REFERER', 400, { referer: 'https://evil.example/page' });
    const res = await new Browser(tls).get(`${site.url}/shared-session/${token}.js`, { referer: `${hub.url}/after-login` });
    expect(res.status).toBe(200);
  });

  it('refuses an Origin naming another host', async () => {
    await expectRejected(hub.mint({ audience: site.url, sid: newSid(), sub: 'u' }), 'ERR_HANDOFF_REFERER', 400, { origin: 'https://evil.example' });
  });

  it('accepts a beacon embedded on another configured site', async () => {
    const token = hub.mint({ audience: site.url, sid: newSid(), sub: 'u', src: 'shop.example.net' });
    expect((await new Browser(tls).get(`${site.url}/shared-session/${token}.js`, { referer: `${OTHER_SITE}/` })).status).toBe(200);
  });

  it('with strictReferer, requires one of the two', async () => {
    await site.close();
    site = await startKoaSite(tls, hub, { strictReferer: true });
    await expectRejected(hub.mint({ audience: site.url, sid: newSid(), sub: 'u' }), 'ERR_HANDOFF_REFERER');
    const token = hub.mint({ audience: site.url, sid: newSid(), sub: 'u' });
    expect((await new Browser(tls).get(`${site.url}/shared-session/${token}.js`, { referer: `${hub.url}/` })).status).toBe(200);
  });
});

describe('keys from the JWKS', () => {
  it('unknown kids cannot cause a refetch storm: 50 of them cost at most the rate limit of 10 fetches', async () => {
    const hits = hub.jwksHits;
    const browser = new Browser(tls);
    expect((await browser.get(`${site.url}/shared-session/${hub.mint({ audience: site.url, sid: newSid(), sub: 'u' })}.js`)).status).toBe(200);
    const statuses = [];
    for (let i = 0; i < 50; i++) {
      const token = hub.forge(header({ kid: randomBytes(32).toString('base64url') }), hub.claimsFor(site.url, newSid()));
      statuses.push((await browser.get(`${site.url}/shared-session/${token}.js`)).status);
    }
    expect(new Set(statuses)).toEqual(new Set([400]));
    expect(hub.jwksHits - hits).toBeGreaterThanOrEqual(2);
    expect(hub.jwksHits - hits).toBeLessThanOrEqual(10);
    expect(site.logger.codes().every((code) => code === 'ERR_HANDOFF_KID_UNKNOWN')).toBe(true);
    // The known key is still answered from the cache.
    const after = hub.jwksHits;
    expect((await new Browser(tls).get(`${site.url}/shared-session/${hub.mint({ audience: site.url, sid: newSid(), sub: 'u' })}.js`)).status).toBe(200);
    expect(hub.jwksHits).toBe(after);
  });

  it('keeps verifying with the cached key while the hub JWKS is down', async () => {
    const hits = hub.jwksHits;
    expect((await new Browser(tls).get(`${site.url}/shared-session/${hub.mint({ audience: site.url, sid: newSid(), sub: 'u' })}.js`)).status).toBe(200);
    expect(hub.jwksHits).toBe(hits + 1);
    hub.jwksDown = true;
    for (let i = 0; i < 3; i++) {
      const browser = new Browser(tls);
      expect((await browser.get(`${site.url}/shared-session/${hub.mint({ audience: site.url, sid: newSid(), sub: 'u' })}.js`)).status).toBe(200);
      expect((await browser.whoami(site)).tessera).not.toBeNull();
    }
    expect(hub.jwksHits).toBe(hits + 1);
  });

  it('answers 503 without a cookie for a kid it cannot look up while the JWKS is down', async () => {
    hub.jwksDown = true;
    await expectRejected(hub.mint({ audience: site.url, sid: newSid(), sub: 'u' }), 'ERR_HUB_UNAVAILABLE', 503);
  });
});
