/**
 * The JWKS rate limit against made-up kids must not also hold back the refresh of a key the hub
 * really publishes: otherwise about ten forged tokens a minute keep the limit spent, and once
 * the real key's cache entry expires (10 minutes) every genuine token is refused until the
 * forging stops.
 *
 * jwks-rsa's cache (lru-cache) measures its entries' age with `performance.now()`: the test
 * moves that clock forward instead of waiting. Its rate limiter reads `process.hrtime()`, left
 * alone, so the spent budget does not refill meanwhile (as under a sustained attack).
 */
import { randomBytes } from 'node:crypto';
import { FrozenClock } from '../../src/core/clock';
import { JWKS_CACHE_MAX_AGE_MS, JWKS_REQUESTS_PER_MINUTE } from '../../src/destination/jwks';
import { Browser, newSid, startKoaSite, startStandInHub, testTls, type StandInHub, type TestSite, type Tls } from './support';

let tls: Tls;
let hub: StandInHub;
let site: TestSite;

beforeAll(async () => {
  tls = await testTls();
  hub = await startStandInHub(tls, new FrozenClock(Date.now()));
});

afterAll(() => hub.close());

beforeEach(async () => {
  site = await startKoaSite(tls, hub);
});

afterEach(async () => {
  jest.restoreAllMocks();
  await site.close();
});

/** Moves `performance.now()` forward by `ms` from now on. */
function advancePerformanceClock(ms: number): void {
  const now = performance.now.bind(performance);
  jest.spyOn(performance, 'now').mockImplementation(() => now() + ms);
}

async function beacon(token: string): Promise<number> {
  return (await new Browser(tls).get(`${site.url}/shared-session/${token}.js`)).status;
}

function forgedWithUnknownKid(): string {
  return hub.forge({ alg: 'RS256', typ: 'handoff+jwt', kid: randomBytes(32).toString('base64url') }, hub.claimsFor(site.url, newSid()));
}

describe('JWKS refetching under a stream of made-up kids', () => {
  it('still refreshes the real key once its cache entry expired', async () => {
    expect(await beacon(hub.mint({ audience: site.url, sid: newSid(), sub: 'u' }))).toBe(200);
    const hitsBefore = hub.jwksHits;
    for (let i = 0; i < JWKS_REQUESTS_PER_MINUTE + 5; i++) expect(await beacon(forgedWithUnknownKid())).toBe(400);
    expect(hub.jwksHits - hitsBefore).toBeLessThanOrEqual(JWKS_REQUESTS_PER_MINUTE);

    advancePerformanceClock(JWKS_CACHE_MAX_AGE_MS + 60_000);
    const fetchesBefore = hub.jwksHits;
    expect(await beacon(hub.mint({ audience: site.url, sid: newSid(), sub: 'u' }))).toBe(200);
    expect(hub.jwksHits).toBe(fetchesBefore + 1);
    // Made-up kids still spend only the limited budget: nothing more is fetched for them.
    const hitsAfter = hub.jwksHits;
    for (let i = 0; i < 5; i++) expect(await beacon(forgedWithUnknownKid())).toBe(400);
    expect(hub.jwksHits).toBe(hitsAfter);
    // And the refreshed key is cached again.
    expect(await beacon(hub.mint({ audience: site.url, sid: newSid(), sub: 'u' }))).toBe(200);
    expect(hub.jwksHits).toBe(hitsAfter);
  });
});
