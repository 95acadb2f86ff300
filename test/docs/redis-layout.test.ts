/**
 * docs/redis-layout.md against what the real Redis stores write: every key they create matches a
 * row of the page's tables (and every row of the hub's table is seen), and the session records
 * and site links, read back with HGETALL the way the page says (pieces joined, links split),
 * satisfy docs/schemas/*.schema.json (ajv, draft 2020-12) and give what the hub reads, across the
 * cases a reader meets: anonymous with data, signed in, long values, linked to sites,
 * persistent, after a touch.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import type { Redis } from 'ioredis';
import { FrozenClock, nowSeconds } from '../../src/core/clock';
import { createSessionRecord, hashSecret, newSecret } from '../../src/core/sessions/session';
import { RedisEndedSessions } from '../../src/destination/ended-sessions';
import { RedisSiteSessionStore } from '../../src/destination/redis-session-store';
import type { SessionRecord } from '../../src/ports';
import { createRateLimiter } from '../../src/stores/rate-limit/limiters';
import { closeRedisClient, createRedisClient, type RedisClient } from '../../src/stores/redis/client';
import { RedisKeys } from '../../src/stores/redis/keys';
import { RedisProjectionStore } from '../../src/stores/redis/projection-store';
import { RedisReplayStore } from '../../src/stores/redis/replay-store';
import { RedisSessionStore } from '../../src/stores/redis/session-store';
import { describeWithRedis, redisUrl } from '../support/services';

const root = join(__dirname, '..', '..');
const layout = readFileSync(join(root, 'docs', 'redis-layout.md'), 'utf8');
const schema = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(root, 'docs', 'schemas', name), 'utf8')) as Record<string, unknown>;

const policy = { idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 43_200, touchIntervalSeconds: 60 };
const SHOP = 'https://shop.example.net';
const WWW = 'https://www.example.org';

/**
 * The key patterns of one table of the page: the rows under the heading `heading` whose first
 * cell is a key starting with `P `, as anchored regular expressions over keys under `prefix`
 * (`<name>` stands for any non-empty text).
 */
function documentedKeys(heading: string, prefix: string): Map<string, RegExp> {
  const start = layout.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/redis-layout.md has no section "${heading}"`);
  const end = layout.indexOf('\n## ', start + 1);
  const section = layout.slice(start, end < 0 ? undefined : end);
  const patterns = new Map<string, RegExp>();
  for (const match of section.matchAll(/^\| `P ([^`]+)` \|/gm)) {
    const shape = match[1]!;
    const source = shape
      .split(/(<[^>]+>)/)
      .map((part) => (part.startsWith('<') ? '.+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    patterns.set(shape, new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${source}$`));
  }
  return patterns;
}

async function keysUnder(redis: RedisClient, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await (redis as Redis).scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found.sort();
}

/** Which documented shapes the keys match; throws on a key that matches none. */
function shapesOf(keys: string[], patterns: Map<string, RegExp>): Set<string> {
  const seen = new Set<string>();
  const undocumented = keys.filter((key) => {
    const shapes = [...patterns].filter(([, re]) => re.test(key)).map(([shape]) => shape);
    for (const shape of shapes) seen.add(shape);
    return shapes.length === 0;
  });
  expect(undocumented).toEqual([]);
  return seen;
}

describe('the JSON Schemas', () => {
  it('are valid draft 2020-12 schemas', () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    for (const name of ['session-record.schema.json', 'site-link.schema.json', 'projection-json.schema.json']) {
      expect(ajv.validateSchema(schema(name))).toBe(true);
    }
  });
});

describeWithRedis('docs/redis-layout.md against the Redis stores', () => {
  const prefix = `tessera-test:${randomBytes(6).toString('hex')}:layout:`;
  const keys = new RedisKeys(prefix);
  let redis: RedisClient;
  let clock: FrozenClock;
  let sessions: RedisSessionStore;
  let replay: RedisReplayStore;
  let validateRecord: ValidateFunction;
  let validateLink: ValidateFunction;
  let validateData: ValidateFunction;
  let validateProjection: ValidateFunction;
  const projectionPrefix = `tessera-test:${randomBytes(6).toString('hex')}:layout-projection:`;

  beforeAll(() => {
    redis = createRedisClient(redisUrl);
    // Redis expires keys by its own clock: the frozen clock starts at real time so TTLs are sane.
    clock = new FrozenClock(Date.now());
    sessions = new RedisSessionStore(redis, { clock, prefix });
    replay = new RedisReplayStore(redis, { clock, prefix });
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    const recordSchema = schema('session-record.schema.json');
    validateRecord = ajv.compile(recordSchema);
    validateLink = ajv.compile(schema('site-link.schema.json'));
    validateProjection = ajv.compile(schema('projection-json.schema.json'));
    // ajv treats contentSchema as an annotation: the test applies it to the parsed `data` itself.
    const properties = recordSchema.properties as Record<string, { contentSchema: object }>;
    validateData = ajv.compile(properties.d!.contentSchema);
  });

  afterAll(async () => {
    const leftovers = [...(await keysUnder(redis, prefix)), ...(await keysUnder(redis, projectionPrefix))];
    if (leftovers.length > 0) await redis.del(...leftovers);
    await closeRedisClient(redis);
  });

  /** Stores a new session the way the hub's sign-in and anonymous-data paths build them. */
  async function stored(input: { userId: string | null; data?: Record<string, unknown>; ip: string | null; userAgent: string | null; persistent?: boolean }): Promise<SessionRecord> {
    const { record } = createSessionRecord({ ...input, now: nowSeconds(clock) }, policy);
    await sessions.create(record);
    return record;
  }

  /**
   * A session as the page tells a reader to read it: HGETALL (bytes), pieces joined, the record
   * fields (text, `h` as hex) apart from the link fields (named by an origin), each link split
   * at its first three spaces.
   */
  async function readAsDocumented(sid: string): Promise<{ fields: Record<string, string>; links: Record<string, Record<string, string>> }> {
    const raw = await (redis as Redis).hgetallBuffer(keys.session(sid));
    const whole: Record<string, Buffer> = {};
    const pieces = Object.keys(raw).filter((name) => /#[1-9][0-9]*$/.test(name));
    for (const [name, value] of Object.entries(raw)) {
      if (pieces.includes(name)) continue;
      const parts = [value];
      for (let n = 1; raw[`${name}#${n}`] !== undefined; n += 1) parts.push(raw[`${name}#${n}`]!);
      whole[name] = Buffer.concat(parts);
    }
    // Every piece belongs to a whole value: a stray one is an undocumented field.
    for (const name of pieces) expect(whole[name.replace(/#[0-9]+$/, '')]).toBeDefined();
    const fields: Record<string, string> = {};
    const links: Record<string, Record<string, string>> = {};
    const decode = (text: string): string => text.replace(/%20/g, ' ').replace(/%25/g, '%');
    for (const [name, value] of Object.entries(whole)) {
      if (name.includes('://')) {
        const first = value.indexOf(0x20);
        const second = value.indexOf(0x20, first + 1);
        const third = value.indexOf(0x20, second + 1);
        expect(third).toBeGreaterThan(second);
        links[name] = {
          linkedAfter: value.toString('utf8', 0, first),
          src: decode(value.toString('utf8', first + 1, second)),
          projectionKey: decode(value.toString('utf8', second + 1, third)),
          secretHash: value.subarray(third + 1).toString('hex'),
        };
      } else {
        fields[name] = name === 'h' ? value.toString('hex') : value.toString('utf8');
      }
    }
    return { fields, links };
  }

  /** The record and its links, checked against the schemas and against what the store reads back. */
  async function checkAgainstSchemas(sid: string): Promise<{ fields: Record<string, string>; links: Record<string, Record<string, string>> }> {
    const { fields, links } = await readAsDocumented(sid);
    expect({ valid: validateRecord(fields), errors: validateRecord.errors ?? null }).toEqual({ valid: true, errors: null });
    const data = JSON.parse(fields.d!) as unknown;
    expect(validateData(data)).toBe(true);
    for (const [origin, link] of Object.entries(links)) {
      expect(origin).toMatch(/^https?:\/\/[^/#\s]+$/);
      expect({ origin, valid: validateLink(link), errors: validateLink.errors ?? null }).toEqual({ origin, valid: true, errors: null });
    }
    // No value is longer than 64 bytes (the hash stays a listpack on a default Redis).
    const raw = await (redis as Redis).hgetallBuffer(keys.session(sid));
    expect(Math.max(...Object.values(raw).map((value) => value.length))).toBeLessThanOrEqual(64);

    // The page's reading of each field gives back exactly what the hub itself reads.
    const record = (await sessions.get(sid))!;
    const createdAt = Number(fields.c);
    expect({
      v: 1,
      sid,
      secretHash: fields.h,
      userId: fields.u ?? null,
      data,
      createdAt,
      lastSeenAt: Number(fields.s),
      idleExpiresAt: Number(fields.i),
      absoluteExpiresAt: Number(fields.a),
      ip: fields.ip ?? null,
      userAgent: fields.ua ?? null,
      persistent: fields.p === '1',
      sites: Object.entries(links)
        .map(([site, link]) => ({
          site,
          linkedAt: createdAt + Number(link.linkedAfter),
          src: link.src,
          secretHash: link.secretHash === '' ? null : link.secretHash,
          projectionKey: link.projectionKey === '' ? null : link.projectionKey,
        }))
        .sort((a, b) => (a.site < b.site ? -1 : 1)),
    }).toEqual(record);
    return { fields, links };
  }

  it('an anonymous session that holds data: no user, data as a JSON object', async () => {
    const record = await stored({ userId: null, data: { basket: [{ sku: 'Ä-42', qty: 2 }], note: 'ünïcode ✓' }, ip: '203.0.113.7', userAgent: null });
    const { fields } = await checkAgainstSchemas(record.sid);
    expect(fields.u).toBeUndefined();
    expect(fields.ua).toBeUndefined();
    expect(JSON.parse(fields.d!)).toEqual({ basket: [{ sku: 'Ä-42', qty: 2 }], note: 'ünïcode ✓' });
    expect(fields.p).toBeUndefined();
  });

  it('a signed-in session with an IPv6 address and a long User-Agent, in pieces', async () => {
    const userAgent = `Mozilla/5.0 (X11; Linux x86_64) ${'Ж'.repeat(600)}`.slice(0, 512);
    const record = await stored({ userId: randomBytes(16).toString('base64url'), ip: '2001:db8::7', userAgent });
    const { fields } = await checkAgainstSchemas(record.sid);
    expect(fields.u).toBe(record.userId);
    expect(fields.ua).toBe(userAgent);
    expect(fields.d).toBe('{}');
    expect(fields.v).toBe('2');
    expect(fields.h).toBe(record.secretHash);
    // 992 bytes of UTF-8: the first 64 under `ua`, the next under ua#1 to ua#15.
    expect(Buffer.byteLength(userAgent)).toBe(992);
    const names = Object.keys(await redis.hgetall(keys.session(record.sid)));
    expect(names.filter((name) => name.startsWith('ua'))).toEqual(['ua', ...Array.from({ length: 15 }, (_, n) => `ua#${n + 1}`)]);
  });

  it('a session linked to sites: SDK site (no secret), hub-as-receiver site with secret and projection key', async () => {
    const record = await stored({ userId: 'user-linked', ip: '::ffff:192.0.2.1', userAgent: 'curl/8.5.0' });
    const now = nowSeconds(clock);
    const jti = randomBytes(16).toString('base64url');
    expect(await sessions.acceptHandoff(jti, now + 35, record.sid, { site: WWW, linkedAt: now, src: 'login.example.com', secretHash: null, projectionKey: null })).toBe('accepted');
    clock.advance(3_000);
    const secretHash = hashSecret(newSecret());
    const projectionKey = `PHPREDIS_SESSION:${randomBytes(16).toString('hex')}-${randomBytes(32).toString('hex')}`;
    expect(await sessions.linkSite(record.sid, { site: SHOP, linkedAt: now + 3, src: 'www.example.org:8443', secretHash, projectionKey })).toBe(true);
    const { links } = await checkAgainstSchemas(record.sid);
    expect(Object.keys(links).sort()).toEqual([SHOP, WWW]);
    expect(links[WWW]).toEqual({ linkedAfter: String(now - record.createdAt), src: 'login.example.com', projectionKey: '', secretHash: '' });
    expect(links[SHOP]).toEqual({ linkedAfter: String(now + 3 - record.createdAt), src: 'www.example.org:8443', projectionKey, secretHash });
    expect(await redis.hget(keys.session(record.sid), WWW)).toBe(`${now - record.createdAt} login.example.com  `);
    expect(await redis.get(keys.sessionJti(record.sid, jti))).toBe('1');
  });

  it('a persistent ("keep me signed in") session', async () => {
    const record = await stored({ userId: 'user-persistent', ip: null, userAgent: 'Firefox', persistent: true });
    const { fields } = await checkAgainstSchemas(record.sid);
    expect(fields.p).toBe('1');
    expect(fields.ip).toBeUndefined();
  });

  it('after a touch and a data change: times moved, expiry moved with them', async () => {
    const record = await stored({ userId: null, data: { step: 1 }, ip: '198.51.100.2', userAgent: 'Safari' });
    clock.advance(120_000);
    const now = nowSeconds(clock);
    expect(await sessions.touch(record.sid, now, now + policy.idleTimeoutSeconds)).toBe(true);
    expect(await sessions.setData(record.sid, { step: 2, items: [] })).toBe(true);
    const { fields } = await checkAgainstSchemas(record.sid);
    expect(Number(fields.s)).toBe(now);
    expect(Number(fields.i)).toBe(now + policy.idleTimeoutSeconds);
    expect(JSON.parse(fields.d!)).toEqual({ step: 2, items: [] });
    // "expires: at min(i, a), moved by every touch"
    const pttl = await redis.pttl(keys.session(record.sid));
    expect(Math.abs(pttl - (now + policy.idleTimeoutSeconds) * 1000 + clock.now())).toBeLessThan(5_000);
  });

  it('the schemas refuse what the page says a reader must refuse', async () => {
    const record = await stored({ userId: 'user-negative', ip: '192.0.2.9', userAgent: 'Edge' });
    const { fields } = await readAsDocumented(record.sid);
    const refused = (change: Record<string, string | undefined>): boolean => !validateRecord(Object.fromEntries(Object.entries({ ...fields, ...change }).filter(([, value]) => value !== undefined)));
    expect(refused({})).toBe(false);
    expect(refused({ v: '1' })).toBe(true);
    expect(refused({ v: '3' })).toBe(true);
    expect(refused({ v: undefined })).toBe(true);
    expect(refused({ h: 'A'.repeat(64) })).toBe(true);
    expect(refused({ u: '' })).toBe(true);
    expect(refused({ c: '1.5' })).toBe(true);
    expect(refused({ p: '0' })).toBe(true);
    expect(refused({ sid: record.sid })).toBe(true);
    // Layout 1's field names are not layout 2's.
    expect(refused({ secretHash: fields.h, idleExpiresAt: fields.i })).toBe(true);
    const link = { linkedAfter: '0', src: 'a.example', projectionKey: '', secretHash: '' };
    expect(validateLink(link)).toBe(true);
    expect(validateLink({ ...link, linkedAfter: '1.5' })).toBe(false);
    expect(validateLink({ ...link, src: 'a example' })).toBe(false);
    expect(validateLink({ ...link, secretHash: 'ab' })).toBe(false);
    expect(validateLink({ linkedAfter: '0', src: 'a.example', secretHash: '' })).toBe(false);
    expect(validateLink({ v: 1, linkedAt: 1, src: 'a.example', secretHash: null, projectionKey: null })).toBe(false);
  });

  it('every key the hub writes has a row in "Keys the hub writes", and every row is written', async () => {
    // The key kinds the cases above did not make: a token bound to no session, a login
    // rate-limit counter of each limiter, a projection (its index is under P, the key itself
    // under the site's own prefix, outside P).
    expect(await replay.rememberOnce(randomBytes(16).toString('base64url'), nowSeconds(clock) + 30)).toBe(true);
    for (const name of ['login-address', 'login-account', 'login-link']) {
      await createRateLimiter({ kind: 'redis', client: redis, prefix }, { name, points: 5, durationSeconds: 900 }).consume('ada@example.org');
    }
    const projectionKey = `${projectionPrefix}${randomBytes(16).toString('hex')}-${randomBytes(32).toString('hex')}`;
    const projections = new RedisProjectionStore(redis, { clock, prefix });
    const sid = randomBytes(16).toString('base64url');
    const outcome = await projections.write({ key: projectionKey, format: 'json', fields: { sub: 'user-1', sid, roles: ['editor'], created_at: nowSeconds(clock) }, unset: [], expiresAt: nowSeconds(clock) + 1800 });
    expect(outcome).toBe('written');
    const projected = JSON.parse((await redis.get(projectionKey))!) as unknown;
    expect({ valid: validateProjection(projected), errors: validateProjection.errors ?? null }).toEqual({ valid: true, errors: null });
    expect(await redis.ttl(projectionKey)).toBeGreaterThan(1790);
    expect(await redis.zscore(`${prefix}projections`, projectionKey)).toBe(String(nowSeconds(clock) + 1800));

    const patterns = documentedKeys('Keys the hub writes', prefix);
    expect([...patterns.keys()]).toHaveLength(7);
    const seen = shapesOf(await keysUnder(redis, prefix), patterns);
    expect([...seen].sort()).toEqual([...patterns.keys()].sort());
    // Spot checks of the documented types and expiries.
    const [rateKey] = await keysUnder(redis, `${prefix}rl:login-account:`);
    expect(rateKey).toMatch(/:[0-9a-f]{64}$/);
    expect(await redis.type(rateKey!)).toBe('string');
    expect(await redis.ttl(rateKey!)).toBeGreaterThan(890);
    expect(await redis.type(keys.allSessions())).toBe('zset');
    expect(await redis.pttl(keys.allSessions())).toBe(-1);
  });

  it('every key the destination SDK writes has a row in "Keys the destination SDK writes"', async () => {
    const sitePrefix = `${prefix}site:`;
    const siteStore = new RedisSiteSessionStore(redis, { prefix: sitePrefix });
    const siteReplay = new RedisReplayStore(redis, { clock, prefix: sitePrefix });
    const sid = randomBytes(16).toString('base64url');
    await siteStore.set(randomBytes(18).toString('base64url'), { tessera: { sid, sub: 'user-1', claims: {}, src: 'login.example.com' } }, 60_000);
    await new RedisEndedSessions(redis, sitePrefix).add(sid, nowSeconds(clock) + 125);
    await siteReplay.rememberOnce(randomBytes(16).toString('base64url'), nowSeconds(clock) + 35, sid);
    await siteReplay.rememberOnce(randomBytes(16).toString('base64url'), nowSeconds(clock) + 35);
    const patterns = documentedKeys('Keys the destination SDK writes', sitePrefix);
    expect(patterns.size).toBe(5);
    const seen = shapesOf(await keysUnder(redis, sitePrefix), patterns);
    expect([...seen].sort()).toEqual([...patterns.keys()].sort());
  });
});
