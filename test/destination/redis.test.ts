/**
 * Two SDK instances of one site sharing Redis (as behind a load balancer): a token spent on
 * one is a replay on the other, and sessions and their sid index are shared.
 */
import { randomBytes } from 'node:crypto';
import { FrozenClock } from '../../src/core/clock';
import { RedisSiteSessionStore } from '../../src/destination/redis-session-store';
import { closeRedisClient, createRedisClient, type RedisClient } from '../../src/stores/redis/client';
import { describeWithRedis, redisUrl } from '../support/services';
import { Browser, newSid, startKoaSite, startStandInHub, testTls, type StandInHub, type TestSite, type Tls } from './support';

describeWithRedis('destination SDK on Redis', () => {
  let tls: Tls;
  let hub: StandInHub;
  let redis: RedisClient;
  let prefix: string;
  let first: TestSite;
  let second: TestSite;

  beforeAll(async () => {
    tls = await testTls();
    hub = await startStandInHub(tls, new FrozenClock(Date.now()));
    redis = createRedisClient(redisUrl);
  });

  afterAll(async () => {
    await hub.close();
    await closeRedisClient(redis);
  });

  beforeEach(async () => {
    prefix = `tessera-test-destination-${randomBytes(6).toString('hex')}:`;
    first = await startKoaSite(tls, hub, { store: { redis, prefix } });
    second = await startKoaSite(tls, hub, { store: { redis, prefix }, siteOrigin: first.url });
  });

  afterEach(async () => {
    await first.close();
    await second.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  });

  it('refuses on one instance a token already spent on the other', async () => {
    const token = hub.mint({ audience: first.url, sid: newSid(), sub: 'u' });
    expect((await new Browser(tls).get(`${first.url}/shared-session/${token}.js`)).status).toBe(200);
    const replay = await new Browser(tls).get(`${second.url}/shared-session/${token}.js`);
    expect(replay.status).toBe(400);
    expect(replay.setCookies).toEqual([]);
    expect(second.logger.codes()).toEqual(['ERR_HANDOFF_REPLAYED']);
  });

  it('of many concurrent uses of one token across both, exactly one is accepted', async () => {
    const token = hub.mint({ audience: first.url, sid: newSid(), sub: 'u' });
    const statuses = await Promise.all(Array.from({ length: 10 }, (_, i) => new Browser(tls).get(`${(i % 2 ? first : second).url}/shared-session/${token}.js`).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(9);
  });

  it('shares sessions and their sid index: set on one, read and ended on the other', async () => {
    const browser = new Browser(tls);
    const sid = newSid();
    await browser.get(`${first.url}/shared-session/${hub.mint({ audience: first.url, sid, sub: 'user-7' })}.js`);
    const key = browser.cookies.get('tessera_site')!.value;
    expect(await redis.get(`${prefix}session:${key}`)).toContain(sid);
    expect(await new RedisSiteSessionStore(redis, { prefix }).keysForSid(sid)).toEqual([key]);
    expect((await browser.whoami(second)).tessera).toMatchObject({ sid, sub: 'user-7' });

    expect(await second.destination.destroySessions(sid)).toBe(1);
    expect((await browser.whoami(first)).tessera).toBeNull();
    expect(await redis.exists(`${prefix}session:${key}`, `${prefix}sid:${sid}`)).toBe(0);
  });

  it('keeps the session in Redis no longer than the lifetime', async () => {
    const browser = new Browser(tls);
    await browser.get(`${first.url}/shared-session/${hub.mint({ audience: first.url, sid: newSid(), sub: 'u' })}.js`);
    const ttl = await redis.pttl(`${prefix}session:${browser.cookies.get('tessera_site')!.value}`);
    expect(ttl).toBeGreaterThan(43_190_000);
    expect(ttl).toBeLessThanOrEqual(43_200_000);
  });
});
