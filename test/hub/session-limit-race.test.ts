/**
 * The per-user session limit when sign-ins race. The first check (count the user's sessions,
 * then store the new one) cannot see a login that stores between the two; on a store with real
 * I/O (Redis) several sign-ins pass it together, and only the count after storing tells.
 */
import { randomBytes } from 'node:crypto';
import { FrozenClock } from '../../src/core/clock';
import { parseCookieValue } from '../../src/core/sessions/session';
import type { MagicLinkGrant } from '../../src/ports';
import { hashLinkToken } from '../../src/hub/routes/login-email';
import { createRedisClient, type RedisClient } from '../../src/stores/redis/client';
import { RedisSessionStore } from '../../src/stores/redis/session-store';
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, testConfig, type TestHub } from '../support/hub';
import { describeWithRedis, redisUrl } from '../support/services';

const sameOrigin = { origin: 'https://hub.example.com', 'sec-fetch-site': 'same-origin' };

describeWithRedis('the per-user session limit under racing sign-ins (Redis)', () => {
  let redis: RedisClient;
  let prefix: string;

  beforeEach(() => {
    redis = createRedisClient(redisUrl);
    prefix = `tessera-test:${randomBytes(6).toString('hex')}:`;
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  async function hubWithLimit(max: number, onLimit: 'refuse' | 'end-oldest'): Promise<TestHub> {
    const clock = new FrozenClock(Date.now());
    const hub = await startTestHub({
      clock,
      sessions: new RedisSessionStore(redis, { clock, prefix }),
      config: testConfig({ TESSERA_SESSION_MAX_PER_USER: String(max), TESSERA_SESSION_ON_LIMIT: onLimit }),
    });
    await hub.deps.users.create({ email: 'ada@example.com', name: 'Ada' });
    return hub;
  }

  /**
   * `count` sign-ins by magic link whose POSTs leave together: consuming a link is one quick
   * store call, so (unlike argon2-paced password logins) they reach the limit check together.
   */
  async function racingSignIns(hub: TestHub, count: number) {
    const user = (await hub.deps.users.findByEmail('ada@example.com'))!;
    // Each link stands for a sign-in on another device. The user store spends all of a user's
    // pending links with the first one used, which would end the race before it starts: here
    // each link is granted on its own, one quick call as the store's.
    const grants = new Map<string, MagicLinkGrant>();
    hub.deps.users.consumeMagicLink = async (tokenHash) => {
      const grant = grants.get(tokenHash) ?? null;
      grants.delete(tokenHash);
      return grant;
    };
    const ready = await Promise.all(
      Array.from({ length: count }, async () => {
        const token = randomBytes(32).toString('base64url');
        grants.set(hashLinkToken(token), { userId: user.id, email: user.email, returnTo: null });
        const client = new CookieClient(hub.url);
        return { client, token, csrf: csrfFrom((await client.get('/login')).body) };
      }),
    );
    const attempts = await Promise.all(ready.map(async ({ client, token, csrf }) => ({ client, res: await client.post('/login/link', { _csrf: csrf, token }, sameOrigin) })));
    return { user, attempts };
  }

  const sidOf = (client: CookieClient) => parseCookieValue(client.cookies.get('__Host-tessera'))?.sid ?? null;

  /** What the race left: winners (303) hold exactly the live sessions; losers got 409 and no cookie. */
  function expectSettled(attempts: { client: CookieClient; res: { status: number; body: string } }[], live: string[], max: number) {
    const won = attempts.filter((a) => a.res.status === 303);
    for (const a of attempts.filter((x) => x.res.status !== 303)) {
      expect(a.res.status).toBe(409);
      expect(a.res.body).toContain('ERR_SESSION_LIMIT');
      expect(a.client.cookies.has('__Host-tessera')).toBe(false);
    }
    // The limit holds. It may refuse more than needed: when every sign-in stores before any
    // counts, each sees too many and gives way (fail closed; sequential sign-ins are exact).
    expect(live.length).toBeLessThanOrEqual(max);
    const winners = won.map((a) => sidOf(a.client));
    for (const sid of live) expect(winners).toContain(sid);
  }

  it('refuse: no more than `max` sessions outlive the race, each held by a sign-in that succeeded', async () => {
    const hub = await hubWithLimit(2, 'refuse');
    try {
      const { user, attempts } = await racingSignIns(hub, 6);
      const live = (await hub.deps.sessions.listByUser(user.id)).map((s) => s.sid);
      expectSettled(attempts, live, 2);
      // refuse never ends a session that had already succeeded: every winner is live.
      expect(attempts.filter((a) => a.res.status === 303)).toHaveLength(live.length);
    } finally {
      await hub.close();
    }
  });

  it('end-oldest: no more than `max` sessions outlive the race', async () => {
    const hub = await hubWithLimit(2, 'end-oldest');
    try {
      const { user, attempts } = await racingSignIns(hub, 6);
      const live = (await hub.deps.sessions.listByUser(user.id)).map((s) => s.sid);
      expectSettled(attempts, live, 2);
    } finally {
      await hub.close();
    }
  });
});
