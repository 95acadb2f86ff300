/**
 * Issue 7, "Correctness across instances": the login rate limits live in the shared Redis, so
 * the per-account limit trips at the same count whether every attempt goes to one instance or
 * they alternate between two — spreading attempts over instances buys an attacker nothing.
 */
import { CookieClient, csrfFrom } from '../support/client';
import { describeDistributed, hubOrigin, sameOrigin, startHubPair, type HubPair } from './support';

const accountLimit = 4;

describeDistributed('login rate limits across two hub instances', () => {
  let pair: HubPair;

  beforeAll(async () => {
    pair = await startHubPair({ TESSERA_LOGIN_ACCOUNT_LIMIT: String(accountLimit) });
    await Promise.all([pair.addUser('one@example.com'), pair.addUser('both@example.com')]);
  }, 60_000);
  afterAll(() => pair?.stop());

  /** Wrong passwords for `email` at `targets[i % n]` until a 429; resolves with every status. */
  async function guessUntilLimited(email: string, targets: string[]): Promise<number[]> {
    const client = new CookieClient(hubOrigin);
    const csrf = csrfFrom((await client.get(`${targets[0]}/login`)).body);
    const statuses: number[] = [];
    for (let attempt = 0; attempt < accountLimit + 3; attempt++) {
      const res = await client.post(`${targets[attempt % targets.length]}/login`, { _csrf: csrf, email, password: `wrong guess ${attempt}` }, sameOrigin);
      statuses.push(res.status);
      if (res.status === 429) {
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        break;
      }
    }
    return statuses;
  }

  it('trips the per-account limit at the same attempt on one instance and on two alternating', async () => {
    const [one, two] = pair.hubs;
    const single = await guessUntilLimited('one@example.com', [one.url]);
    const alternating = await guessUntilLimited('both@example.com', [one.url, two.url]);

    expect(single.at(-1)).toBe(429);
    expect(single.indexOf(429)).toBe(accountLimit);
    expect(alternating).toEqual(single);
    expect(new Set(single.slice(0, accountLimit)).size).toBe(1);
    expect(single[0]).not.toBe(429);

    // Tripped on one instance means tripped on both: even the right password is now refused.
    for (const hub of [one, two]) {
      const client = new CookieClient(hubOrigin);
      const csrf = csrfFrom((await client.get(`${hub.url}/login`)).body);
      const res = await client.post(`${hub.url}/login`, { _csrf: csrf, email: 'both@example.com', password: 'correct horse battery staple' }, sameOrigin);
      expect(res.status).toBe(429);
      expect(client.cookies.has('__Host-tessera')).toBe(false);
    }
  }, 60_000);
});
