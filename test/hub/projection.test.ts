/**
 * Session projections on hub-as-receiver sites, over real HTTP with the memory ProjectionStore:
 * the PHP-shaped site cookie and the projection written under it before it is set, nothing set
 * when the projection cannot be written, refreshes that merge (application data kept, throttled,
 * nothing brought back), and deletion everywhere a session ends. test/interop/php-projection.test.ts
 * runs the same flows against Redis and real PHP.
 */
import { nowSeconds, FrozenClock } from '../../src/core/clock';
import { decodePhpSerializeSession } from '../../src/core/projection/php';
import { createSessionRecord, formatCookieValue, newSecret } from '../../src/core/sessions/session';
import { mintHandoff } from '../../src/core/tokens/handoff';
import { createHub } from '../../src/hub/app';
import { revokeUserSessions } from '../../src/hub/revocation/revoke';
import { createLogger } from '../../src/log/logger';
import type { ProjectionStore, ProjectionWrite } from '../../src/ports';
import { MemoryProjectionStore } from '../../src/stores/memory/projection-store';
import { hashPassword } from '../../src/users/password';
import { codeOfSync } from '../support/errors';
import { startTestHub, testConfig, type TestHub } from '../support/hub';
import { csrfFrom } from '../support/client';
import { Browser, HUB, HUB_HOST, LogCapture, formField, handoffSites, signedInSession, type SignedIn } from './handoff-support';

const PHP = 'https://php.example.net';
const PHP_HOST = 'php.example.net';
const PY = 'https://py.example.net';
const PY_HOST = 'py.example.net';
const fromHub = { referer: `${HUB}/` };

const projectedSites = [
  ...handoffSites(),
  {
    origin: PHP,
    cookie: { name: 'PHPSESSID' },
    claims: ['email', 'name', 'roles'],
    projection: { format: 'php_serialize', fields: ['user_id', 'email', 'name', 'roles', 'tessera_sid'] },
  },
  { origin: PY, cookie: { name: 'session' }, projection: { format: 'json', ttlSeconds: 600 } },
];

/** A ProjectionStore that fails every call while `failing` is set. */
class FlakyProjections implements ProjectionStore {
  failing = false;
  constructor(readonly inner: MemoryProjectionStore) {}
  private check(): void {
    if (this.failing) throw Object.assign(new Error('Redis projection store: write failed'), { code: 'ERR_STORE_UNAVAILABLE', status: 503, expose: false });
  }
  async write(p: ProjectionWrite) {
    this.check();
    return this.inner.write(p);
  }
  async refresh(p: ProjectionWrite) {
    this.check();
    return this.inner.refresh(p);
  }
  async delete(keys: readonly string[]) {
    this.check();
    return this.inner.delete(keys);
  }
  async purgeExpired() {
    return this.inner.purgeExpired();
  }
  async ping() {}
  async close() {}
}

interface ProjectionHub extends TestHub {
  memory: MemoryProjectionStore;
  projections: FlakyProjections;
  logs: LogCapture;
}

async function startProjectionHub(): Promise<ProjectionHub> {
  const clock = new FrozenClock(Date.UTC(2026, 10, 22, 12, 0, 0));
  const memory = new MemoryProjectionStore({ clock });
  const projections = new FlakyProjections(memory);
  const logs = new LogCapture();
  const hub = await startTestHub({
    clock,
    // The configuration asks for Redis, as projections must; the test wires memory stores.
    config: testConfig({ TESSERA_STORE: 'redis://127.0.0.1:6379', TESSERA_SITES: JSON.stringify(projectedSites) }),
    logger: createLogger({ level: 'info', destination: logs.stream }),
    projections,
  });
  return { ...hub, memory, projections, logs };
}

function mint(hub: TestHub, signed: SignedIn, audience = PHP, identity: Record<string, unknown> = { email: signed.user.email, name: signed.user.name, roles: signed.user.roles }): string {
  return mintHandoff(hub.deps.keyring, { audience, sid: signed.record.sid, sub: signed.user.id, src: HUB_HOST, identity }, { clock: hub.clock, issuer: HUB });
}

/** The projection at `key`, decoded (php_serialize). */
function projected(hub: ProjectionHub, key: string): Record<string, unknown> | null {
  const raw = hub.memory.readRaw(key);
  return raw === null ? null : decodePhpSerializeSession(raw);
}

/** Beacon to the PHP site; returns the PHPSESSID value set. */
async function handOff(hub: ProjectionHub, browser: Browser, signed: SignedIn): Promise<string> {
  const res = await browser.get(PHP_HOST, `/shared-session/${mint(hub, signed)}.js`, fromHub);
  expect(res.status).toBe(200);
  return browser.jar(PHP_HOST).get('PHPSESSID')!;
}

describe('projections: the accept', () => {
  let hub: ProjectionHub;
  beforeAll(async () => {
    hub = await startProjectionHub();
  });
  afterAll(() => hub.close());
  beforeEach(() => {
    hub.projections.failing = false;
    hub.logs.clear();
  });

  it('sets a cookie PHP takes as a session id, with the projection of the session written under it', async () => {
    const signed = await signedInSession(hub, { roles: ['editor', 'admin'] });
    const browser = new Browser(hub.url);
    const res = await browser.get(PHP_HOST, `/shared-session/${mint(hub, signed)}.js`, fromHub);
    expect(res.status).toBe(200);
    expect(res.setCookies).toHaveLength(1);
    expect(res.setCookies[0]).toMatch(/^PHPSESSID=[0-9a-f]{32}-[0-9a-f]{64}; Path=\/; HttpOnly; Secure; SameSite=None$/);
    const cookie = browser.jar(PHP_HOST).get('PHPSESSID')!;
    expect(cookie.startsWith(Buffer.from(signed.record.sid, 'base64url').toString('hex'))).toBe(true);

    const key = `PHPREDIS_SESSION:${cookie}`;
    expect(projected(hub, key)).toEqual({ user_id: signed.user.id, email: signed.user.email, name: signed.user.name, roles: ['editor', 'admin'], tessera_sid: signed.record.sid });
    // Its time is the session's idle expiry.
    expect(hub.memory.ttlSeconds(key)).toBe(signed.record.idleExpiresAt - nowSeconds(hub.clock));
    const link = (await hub.deps.sessions.get(signed.record.sid))!.sites.find((l) => l.site === PHP)!;
    expect(link.projectionKey).toBe(key);
    // The key holds the cookie, a credential: it is never logged.
    expect(JSON.stringify(hub.logs.lines)).not.toContain(cookie);

    const session = await browser.get(PHP_HOST, '/shared-session/session.json');
    expect(session.status).toBe(200);
    expect(JSON.parse(session.body)).toMatchObject({ sid: signed.record.sid, sub: signed.user.id });
  });

  it('writes JSON with the default fields and the configured TTL, under the JSON prefix', async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(hub.url);
    const res = await browser.get(PY_HOST, `/shared-session/${mint(hub, signed, PY, {})}.js`, fromHub);
    expect(res.status).toBe(200);
    const key = `tessera:projection:${browser.jar(PY_HOST).get('session')!}`;
    expect(JSON.parse(hub.memory.readRaw(key)!)).toEqual({ sub: signed.user.id, sid: signed.record.sid });
    expect(hub.memory.ttlSeconds(key)).toBe(600);
  });

  it('leaves the other sites as they were: `sid.secret` cookies, no projection', async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(hub.url);
    const before = hub.memory.storedKeys().length;
    await browser.get('shop.example.net', `/shared-session/${mint(hub, signed, 'https://shop.example.net', {})}.js`, fromHub);
    expect(browser.jar('shop.example.net').get('tessera_session')).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(hub.memory.storedKeys()).toHaveLength(before);
  });

  it('sets nothing when the projection cannot be written (503), and the same token works once the store is back', async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(hub.url);
    const token = mint(hub, signed);
    const before = hub.memory.storedKeys().length;
    hub.projections.failing = true;
    const refused = await browser.get(PHP_HOST, `/shared-session/${token}.js`, fromHub);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'ERR_STORE_UNAVAILABLE' } });
    expect(refused.setCookies).toEqual([]);
    expect((await hub.deps.sessions.get(signed.record.sid))!.sites).toEqual([]);
    expect(hub.memory.storedKeys()).toHaveLength(before);

    hub.projections.failing = false;
    const accepted = await browser.get(PHP_HOST, `/shared-session/${token}.js`, fromHub);
    expect(accepted.status).toBe(200);
    expect(projected(hub, `PHPREDIS_SESSION:${browser.jar(PHP_HOST).get('PHPSESSID')!}`)).toMatchObject({ user_id: signed.user.id });
  });

  it('leaves no projection behind for a replayed token or a session that ended', async () => {
    const signed = await signedInSession(hub);
    const token = mint(hub, signed);
    expect((await new Browser(hub.url).get(PHP_HOST, `/shared-session/${token}.js`, fromHub)).status).toBe(200);
    const keys = hub.memory.storedKeys();
    const replay = await new Browser(hub.url).get(PHP_HOST, `/shared-session/${token}.js`, fromHub);
    expect(replay.status).toBe(400);
    expect(replay.setCookies).toEqual([]);
    expect(hub.logs.codes('handoff rejected')).toEqual(['ERR_HANDOFF_REPLAYED']);
    expect(hub.memory.storedKeys()).toEqual(keys);

    const ended = await signedInSession(hub);
    const late = mint(hub, ended);
    await hub.deps.sessions.revoke(ended.record.sid);
    const refused = await new Browser(hub.url).get(PHP_HOST, `/shared-session/${late}.js`, fromHub);
    expect(refused.status).toBe(400);
    expect(hub.memory.storedKeys()).toEqual(keys);
  });

  it('does not take a `sid.secret` cookie as a session of the projected site', async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(hub.url);
    const cookie = await handOff(hub, browser, signed);
    expect((await browser.get(PHP_HOST, '/shared-session/session.json')).status).toBe(200);
    browser.jar(PHP_HOST).set('PHPSESSID', formatCookieValue(signed.record.sid, newSecret()));
    expect((await browser.get(PHP_HOST, '/shared-session/session.json')).status).toBe(401);
    browser.jar(PHP_HOST).set('PHPSESSID', cookie.replace(/-.*/, `-${'0'.repeat(64)}`));
    expect((await browser.get(PHP_HOST, '/shared-session/session.json')).status).toBe(401);
  });
});

describe('projections: refresh while the session is in use', () => {
  let hub: ProjectionHub;
  beforeAll(async () => {
    hub = await startProjectionHub();
  });
  afterAll(() => hub.close());

  it("follows the sliding idle expiry from the site's receiver, at most once per touch interval, keeping the application's data", async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(hub.url);
    const key = `PHPREDIS_SESSION:${await handOff(hub, browser, signed)}`;
    // PHP saves its own variable into the session, with its own TTL.
    hub.memory.writeAsApplication(key, hub.memory.readRaw(key)!.replace(/^a:5:\{/, 'a:6:{s:4:"cart";a:1:{i:0;s:4:"book";}'), 1440);
    await hub.deps.users.setName(signed.user.id, 'Ada Lovelace');

    hub.clock.advance(30_000);
    await browser.get(PHP_HOST, '/shared-session/loader.js');
    // Within the touch interval: nothing written.
    expect(projected(hub, key)).toMatchObject({ cart: ['book'], name: signed.user.name });
    expect(hub.memory.ttlSeconds(key)).toBe(1410);

    hub.clock.advance(31_000);
    const loader = await browser.get(PHP_HOST, '/shared-session/loader.js');
    expect(loader.status).toBe(200);
    const now = nowSeconds(hub.clock);
    expect((await hub.deps.sessions.get(signed.record.sid))!.idleExpiresAt).toBe(now + 1800);
    expect(projected(hub, key)).toEqual({ cart: ['book'], user_id: signed.user.id, email: signed.user.email, name: 'Ada Lovelace', roles: ['editor'], tessera_sid: signed.record.sid });
    expect(hub.memory.ttlSeconds(key)).toBe(1800);

    hub.clock.advance(61_000);
    expect((await browser.get(PHP_HOST, '/shared-session/session.json')).status).toBe(200);
    expect(hub.memory.ttlSeconds(key)).toBe(1800);
    expect((await hub.deps.sessions.get(signed.record.sid))!.idleExpiresAt).toBe(nowSeconds(hub.clock) + 1800);
  });

  it("follows the hub's own touch", async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(hub.url);
    const key = `PHPREDIS_SESSION:${await handOff(hub, browser, signed)}`;
    hub.clock.advance(600_000);
    expect(hub.memory.ttlSeconds(key)).toBe(1200);
    browser.jar(HUB_HOST).set('__Host-tessera', signed.hubCookie);
    expect((await browser.get(HUB_HOST, '/account')).status).toBe(200);
    expect(hub.memory.ttlSeconds(key)).toBe(1800);
  });

  it('never brings back a projection the application destroyed; a bounce that keeps the session writes it again', async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(hub.url);
    const key = `PHPREDIS_SESSION:${await handOff(hub, browser, signed)}`;
    await hub.memory.delete([key]);
    hub.clock.advance(61_000);
    await browser.get(PHP_HOST, '/shared-session/loader.js');
    expect(hub.memory.readRaw(key)).toBeNull();

    // The PHP page sees nobody and sends the visitor through the hub.
    browser.jar(HUB_HOST).set('__Host-tessera', signed.hubCookie);
    const start = await browser.get(PHP_HOST, '/shared-session/start?return_to=%2F');
    const handoff = new URL(start.location!);
    const page = await browser.get(HUB_HOST, handoff.pathname + handoff.search);
    const accept = await browser.request(PHP_HOST, 'POST', '/shared-session/accept', {
      form: { token: formField(page.body, 'token'), state: formField(page.body, 'state'), return_to: formField(page.body, 'return_to') },
    });
    expect(accept.status).toBe(303);
    expect(accept.setCookies.filter((c) => c.startsWith('PHPSESSID='))).toEqual([]);
    expect(projected(hub, key)).toMatchObject({ user_id: signed.user.id, tessera_sid: signed.record.sid });
  });
});

describe('projections: deleted when the session ends', () => {
  let hub: ProjectionHub;
  beforeAll(async () => {
    hub = await startProjectionHub();
  });
  afterAll(() => hub.close());
  beforeEach(() => {
    hub.projections.failing = false;
  });

  it('on sign-out started from the site', async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(hub.url);
    const key = `PHPREDIS_SESSION:${await handOff(hub, browser, signed)}`;
    const res = await browser.request(PHP_HOST, 'POST', '/shared-session/logout', { headers: { origin: PHP, 'sec-fetch-site': 'same-origin' } });
    expect(res.status).toBe(303);
    expect(hub.memory.readRaw(key)).toBeNull();
    expect(await hub.deps.sessions.get(signed.record.sid)).toBeNull();
  });

  it('not at all when the projection store fails: the revocation fails with the session still live, and works when retried', async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(hub.url);
    const key = `PHPREDIS_SESSION:${await handOff(hub, browser, signed)}`;
    hub.projections.failing = true;
    const failed = await browser.request(PHP_HOST, 'POST', '/shared-session/logout', { headers: { origin: PHP, 'sec-fetch-site': 'same-origin' } });
    expect(failed.status).toBe(503);
    expect(await hub.deps.sessions.get(signed.record.sid)).not.toBeNull();
    expect(hub.memory.readRaw(key)).not.toBeNull();
    hub.projections.failing = false;
    const retried = await browser.request(PHP_HOST, 'POST', '/shared-session/logout', { headers: { origin: PHP, 'sec-fetch-site': 'same-origin' } });
    expect(retried.status).toBe(303);
    expect(hub.memory.readRaw(key)).toBeNull();
  });

  it("for every session of a user (admin revoke, disable)", async () => {
    const signed = await signedInSession(hub);
    const keys = [`PHPREDIS_SESSION:${await handOff(hub, new Browser(hub.url), signed)}`];
    const second = createSessionRecord({ userId: signed.user.id, ip: null, userAgent: null, now: nowSeconds(hub.clock) }, hub.deps.config.sessions);
    await hub.deps.sessions.create(second.record);
    keys.push(`PHPREDIS_SESSION:${await handOff(hub, new Browser(hub.url), { ...signed, record: second.record })}`);
    expect(keys.map((key) => hub.memory.readRaw(key) !== null)).toEqual([true, true]);
    expect(await revokeUserSessions(hub.deps, signed.user.id, 'admin', 'cli')).toHaveLength(2);
    expect(keys.map((key) => hub.memory.readRaw(key))).toEqual([null, null]);
  });

  it('including one under a site cookie a later handoff of the same session replaced', async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(hub.url);
    const first = `PHPREDIS_SESSION:${await handOff(hub, browser, signed)}`;
    // The browser lost its PHP cookie (or someone kept a copy of it); the next handoff links a new one.
    browser.jar(PHP_HOST).delete('PHPSESSID');
    const second = `PHPREDIS_SESSION:${await handOff(hub, browser, signed)}`;
    expect(second).not.toBe(first);
    expect(await revokeUserSessions(hub.deps, signed.user.id, 'admin', 'cli')).toHaveLength(1);
    expect([first, second].map((key) => hub.memory.readRaw(key))).toEqual([null, null]);
  });

  it('when a sign-in replaces the anonymous session that was projected', async () => {
    const password = 'correct horse battery staple';
    await hub.deps.users.create({ email: 'grace@example.com', name: 'Grace', passwordHash: await hashPassword(password) });
    const anon = createSessionRecord({ userId: null, data: { basket: ['tea'] }, ip: null, userAgent: null, now: nowSeconds(hub.clock) }, hub.deps.config.sessions);
    await hub.deps.sessions.create(anon.record);
    const browser = new Browser(hub.url);
    const token = mintHandoff(hub.deps.keyring, { audience: PHP, sid: anon.record.sid, src: HUB_HOST }, { clock: hub.clock, issuer: HUB });
    await browser.get(PHP_HOST, `/shared-session/${token}.js`, fromHub);
    const key = `PHPREDIS_SESSION:${browser.jar(PHP_HOST).get('PHPSESSID')!}`;
    expect(projected(hub, key)).toEqual({ tessera_sid: anon.record.sid });

    browser.jar(HUB_HOST).set('__Host-tessera', formatCookieValue(anon.record.sid, anon.secret));
    const page = await browser.get(HUB_HOST, '/login');
    const login = await browser.request(HUB_HOST, 'POST', '/login', { form: { _csrf: csrfFrom(page.body), email: 'grace@example.com', password }, headers: { origin: HUB, 'sec-fetch-site': 'same-origin' } });
    // Signed in: the fan-out page.
    expect(login.status).toBe(200);
    expect(login.body).toContain('Signed in as <strong>Grace</strong>');
    expect(await hub.deps.sessions.get(anon.record.sid)).toBeNull();
    expect(hub.memory.readRaw(key)).toBeNull();
  });
});

describe('projections: wiring', () => {
  it('refuses to build a hub with a projected site and no projection store', async () => {
    const hub = await startProjectionHub();
    try {
      const deps = { ...hub.deps, projections: undefined };
      expect(codeOfSync(() => createHub(deps))).toBe('ERR_CONFIG_INVALID');
      expect(codeOfSync(() => createHub({ ...deps, config: testConfig() }))).toBe('returned');
    } finally {
      await hub.close();
    }
  });
});
