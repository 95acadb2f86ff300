/**
 * The per-address login limit against a client that changes its address with every attempt.
 * An IPv6 host chooses the low 64 bits of its address itself (privacy addresses, or as many as
 * it cares to configure), so keyed by the whole address every guess would arrive with a fresh
 * budget: the limit counts an IPv6 client by its /64. Found in review; the test came first.
 */
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, testConfig, type TestHub } from '../support/hub';

const sameOrigin = { origin: 'https://hub.example.com', 'sec-fetch-site': 'same-origin' };

describe('per-address login limit', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ config: testConfig({ TESSERA_TRUST_PROXY: 'true', TESSERA_LOGIN_ADDRESS_LIMIT: '2', TESSERA_LOGIN_ACCOUNT_LIMIT: '1000' }) });
  });
  afterAll(() => hub.close());

  /** One password attempt from `address`, as the trusted proxy reports it. */
  async function attemptFrom(client: CookieClient, csrf: string, address: string): Promise<number> {
    const res = await client.post('/login', { _csrf: csrf, email: 'x@example.com', password: 'wrong-password' }, { ...sameOrigin, 'x-forwarded-for': address });
    return res.status;
  }

  it('counts every address of one IPv6 /64 against the same budget', async () => {
    const client = new CookieClient(hub.url);
    const csrf = csrfFrom((await client.get('/login')).body);
    const statuses: number[] = [];
    for (const address of ['2001:db8:1:2::1', '2001:db8:1:2:aaaa::2', '2001:DB8:1:2:ffff:ffff:ffff:3', '2001:0db8:0001:0002::4']) statuses.push(await attemptFrom(client, csrf, address));
    expect(statuses).toEqual([401, 401, 429, 429]);
    // Another /64 is another client.
    expect(await attemptFrom(client, csrf, '2001:db8:1:3::1')).toBe(401);
  });

  it('counts an IPv4 client the same whether the proxy writes it plain or IPv4-mapped', async () => {
    const client = new CookieClient(hub.url);
    const csrf = csrfFrom((await client.get('/login')).body);
    const statuses: number[] = [];
    for (const address of ['198.51.100.7', '::ffff:198.51.100.7', '::ffff:c633:6407']) statuses.push(await attemptFrom(client, csrf, address));
    expect(statuses).toEqual([401, 401, 429]);
    // Neighbouring IPv4 addresses are different clients.
    expect(await attemptFrom(client, csrf, '198.51.100.8')).toBe(401);
  });

  it('limits sign-in link requests by the same /64', async () => {
    const client = new CookieClient(hub.url);
    const csrf = csrfFrom((await client.get('/login')).body);
    const statuses: number[] = [];
    for (let i = 1; i <= 3; i += 1) {
      const res = await client.post('/login/email', { _csrf: csrf, email: 'x@example.com' }, { ...sameOrigin, 'x-forwarded-for': `2001:db8:9:9::${i}` });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
  });
});
