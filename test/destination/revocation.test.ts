/**
 * Revocation across real servers over HTTPS on loopback: the real hub app (createHub) with a
 * real outbox worker, and four real Koa sites on the destination SDK — A, B and C with a
 * back-channel logout URI, D without (it relies on the status check).
 *
 * Covered: delivery of the back-channel logout to the SDK endpoint and the local session gone;
 * the session's remaining handoff token refused afterwards; token confusion both ways and a
 * replayed logout token; a site down during revocation that gets its token after it comes back,
 * across a hub restart (a new worker over the same SQLite file); logout started from an SDK
 * site; the front-channel beacon on an SDK site; `requireActiveSession()`; and the time from
 * revocation reaching all three sites, 100 times over (the timing is bench/revocation.js's).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import { FrozenClock } from '../../src/core/clock';
import { TesseraError } from '../../src/core/errors';
import { mintHandoff } from '../../src/core/tokens/handoff';
import { mintLogout } from '../../src/core/tokens/logout';
import { createDestination, type Destination } from '../../src/destination';
import { createHub } from '../../src/hub/app';
import { revokeSession } from '../../src/hub/revocation/revoke';
import { createOutboxWorker, type OutboxWorker } from '../../src/outbox/worker';
import { silentLogger } from '../../src/log/logger';
import type { Outbox } from '../../src/ports';
import { openDatabase } from '../../src/stores/sqlite/database';
import { SqliteOutbox } from '../../src/stores/sqlite/outbox';
import { signedInSession } from '../hub/handoff-support';
import { startTestHub, testConfig, type TestHub } from '../support/hub';
import { Browser, RecordingLogger, listenHttps, testTls, type HttpsServer, type Tls } from './support';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const siteNames = ['a', 'b', 'c', 'd'] as const;
type SiteName = (typeof siteNames)[number];
const credentialOf = (name: SiteName): string => `credential-of-site-${name}-0123456789`;

interface Site extends HttpsServer {
  name: SiteName;
  listener: { current: RequestListener };
  app: RequestListener;
  destination: Destination;
  logger: RecordingLogger;
}

/** fetch for the worker that trusts the test certificate (the global fetch has no per-call CA). */
function tlsFetch(tls: Tls): typeof fetch {
  const agent = new https.Agent({ ca: tls.cert, keepAlive: true });
  return ((url: string, init: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      const req = https.request(url, { method: init.method, headers: init.headers as Record<string, string>, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(new Response(null, { status: res.statusCode ?? 0 })));
      });
      req.on('error', reject);
      req.end(init.body as string);
    })) as typeof fetch;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('revocation reaches SDK sites', () => {
  let tls: Tls;
  let clock: FrozenClock;
  let dir: string;
  let hubServer: HttpsServer;
  let hub: TestHub;
  let sites: Record<SiteName, Site>;
  let worker: OutboxWorker;
  let fetchWithCa: typeof fetch;
  /** SQLite handles on the outbox file, closed after each test. */
  let outboxDbs: ReturnType<typeof openDatabase>[];

  function outboxOnFile(): SqliteOutbox {
    const db = openDatabase(join(dir, 'outbox.db'));
    outboxDbs.push(db);
    return new SqliteOutbox(db, { clock });
  }

  function startWorker(outbox: Outbox): OutboxWorker {
    const started = createOutboxWorker({
      outbox,
      clock,
      logger: silentLogger(),
      workerId: 'test-worker',
      pollIntervalMs: 50,
      timeoutMs: 2000,
      fetch: fetchWithCa,
      mint: (d) => mintLogout(hub.deps.keyring, { audience: d.site, sid: d.sid, sub: d.sub }, { clock, issuer: hub.deps.config.publicUrl }),
      configuredSite: (origin) => hub.deps.config.sites.find((s) => s.origin === origin) ?? null,
    });
    started.start();
    return started;
  }

  beforeAll(async () => {
    tls = await testTls();
    fetchWithCa = tlsFetch(tls);
  });

  beforeEach(async () => {
    clock = new FrozenClock(Date.UTC(2026, 10, 22, 12, 0, 0));
    dir = mkdtempSync(join(tmpdir(), 'tessera-revocation-'));
    outboxDbs = [];
    const hubListener: { current: RequestListener } = { current: () => undefined };
    hubServer = await listenHttps(tls, hubListener);
    const partial: Partial<Record<SiteName, Site>> = {};
    for (const name of siteNames) {
      const listener: { current: RequestListener } = { current: () => undefined };
      partial[name] = { name, listener, ...(await listenHttps(tls, listener)) } as Site;
    }
    sites = partial as Record<SiteName, Site>;
    const config = testConfig({
      TESSERA_PUBLIC_URL: hubServer.url,
      TESSERA_SITES: JSON.stringify(
        siteNames.map((name) => ({
          origin: sites[name].url,
          credentialHash: sha256(credentialOf(name)),
          ...(name === 'd' ? {} : { backchannelLogoutUri: `${sites[name].url}/shared-session/backchannel-logout` }),
        })),
      ),
    });
    // The outbox in a SQLite file, so a "restarted hub" can open it again.
    hub = await startTestHub({ config, clock, outbox: outboxOnFile() });
    worker = startWorker(hub.deps.outbox);
    hub.deps.deliveries = worker;
    hubListener.current = createHub(hub.deps).callback();

    for (const name of siteNames) {
      const site = sites[name];
      site.logger = new RecordingLogger();
      site.destination = createDestination({ hubUrl: hubServer.url, siteOrigin: site.url, ca: tls.cert, clock, logger: site.logger, credential: credentialOf(name),
        // Browsers share cookies across ports of one host: each site needs a name of its own.
        cookie: { name: `site_${name}` } });
      const app = new Koa();
      const requireActive = site.destination.requireActiveSession();
      app.use(site.destination.middleware());
      app.use(async (ctx, next) => (ctx.path === '/sensitive' ? requireActive(ctx, next) : next()));
      app.use((ctx) => {
        ctx.body = { tessera: ctx.state.tessera };
      });
      site.app = app.callback();
      site.listener.current = site.app;
    }
  });

  afterEach(async () => {
    await worker.stop();
    for (const name of siteNames) {
      await sites[name].destination.close();
      await sites[name].close();
    }
    await hubServer.close();
    await hub.close();
    for (const db of outboxDbs) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const handoffFor = (name: SiteName, sid: string, sub: string | null) =>
    mintHandoff(hub.deps.keyring, { audience: sites[name].url, sid, sub, src: hubServer.host, identity: {} }, { clock, issuer: hubServer.url, ttlSeconds: 60 });

  const whoami = async (browser: Browser, name: SiteName): Promise<unknown> => (JSON.parse((await browser.get(`${sites[name].url}/whoami`)).body) as { tessera?: unknown }).tessera ?? null;

  /** A hub session; `browser` takes it on each named site by a beacon, and the hub records every link. */
  async function sessionOn(browser: Browser, names: readonly SiteName[]) {
    const signed = await signedInSession(hub);
    for (const name of names) {
      const reply = await browser.get(`${sites[name].url}/shared-session/${handoffFor(name, signed.record.sid, signed.user.id)}.gif`);
      expect(reply.status).toBe(200);
    }
    for (const name of names) expect(await whoami(browser, name)).toMatchObject({ sid: signed.record.sid });
    await until(async () => (await hub.deps.sessions.get(signed.record.sid))?.sites.length === names.length);
    return signed;
  }

  it('delivers the back-channel logout: the site session ends and a remaining handoff token is refused', async () => {
    const browser = new Browser(tls);
    const { user, record } = await sessionOn(browser, ['a']);
    expect(await whoami(browser, 'a')).toMatchObject({ sid: record.sid, sub: user.id });
    const remaining = handoffFor('a', record.sid, user.id);

    await revokeSession(hub.deps, record.sid, 'admin', 'cli');
    await until(async () => (await whoami(browser, 'a')) === null);
    await until(async () => (await hub.deps.outbox.list({ status: 'delivered' }, { limit: 10 })).items.length === 1);
    expect(sites.a.logger.lines.some((l) => l.message === 'back-channel logout: local sessions ended' && l.fields.sid === record.sid && l.fields.ended === 1)).toBe(true);

    const other = new Browser(tls);
    const refused = await other.get(`${sites.a.url}/shared-session/${remaining}.gif`);
    expect(refused.status).toBe(400);
    expect(sites.a.logger.codes().at(-1)).toBe('ERR_HANDOFF_SESSION_ENDED');
    expect(await whoami(other, 'a')).toBeNull();
  });

  it('refuses a replayed logout token, a handoff token as a logout token, and a logout token as a handoff token', async () => {
    const browser = new Browser(tls);
    const { user, record } = await sessionOn(browser, ['b']);
    const endpoint = `${sites.b.url}/shared-session/backchannel-logout`;
    const logoutToken = mintLogout(hub.deps.keyring, { audience: sites.b.url, sid: record.sid, sub: user.id }, { clock, issuer: hubServer.url });

    const asHandoff = await browser.get(`${sites.b.url}/shared-session/${logoutToken}.gif`);
    expect(asHandoff.status).toBe(400);
    expect(sites.b.logger.codes().at(-1)).toBe('ERR_HANDOFF_TYP');

    const handoffAsLogout = await browser.post(endpoint, { logout_token: handoffFor('b', record.sid, user.id) });
    expect(handoffAsLogout.status).toBe(400);
    expect(JSON.parse(handoffAsLogout.body)).toEqual({ error: 'invalid_request' });
    expect(handoffAsLogout.headers['cache-control']).toBe('no-store');
    expect(sites.b.logger.codes().at(-1)).toBe('ERR_LOGOUT_TYP');
    expect(await whoami(browser, 'b')).toMatchObject({ sid: record.sid });

    const first = await browser.post(endpoint, { logout_token: logoutToken });
    expect(first.status).toBe(200);
    expect(first.headers['cache-control']).toBe('no-store');
    expect(await whoami(browser, 'b')).toBeNull();
    const replay = await browser.post(endpoint, { logout_token: logoutToken });
    expect(replay.status).toBe(400);
    expect(JSON.parse(replay.body)).toEqual({ error: 'invalid_request' });
    expect(sites.b.logger.codes().at(-1)).toBe('ERR_LOGOUT_REPLAYED');
    expect((await browser.post(endpoint, {})).status).toBe(400);
  });

  it('a site down during revocation gets its logout token after it comes back, across a hub restart', async () => {
    const browser = new Browser(tls);
    const { record } = await sessionOn(browser, ['a', 'c']);
    sites.c.listener.current = (req) => req.socket.destroy();

    await revokeSession(hub.deps, record.sid, 'admin', 'cli');
    await until(async () => (await whoami(browser, 'a')) === null);
    await until(async () => (await hub.deps.outbox.list({}, { limit: 10 })).items.some((d) => d.site === sites.c.url && d.attempts === 1 && d.lastError !== null && d.status === 'pending'));

    // The hub stops; its outbox stays in the SQLite file.
    await worker.stop();
    sites.c.listener.current = sites.c.app;
    expect(await whoami(browser, 'c')).toMatchObject({ sid: record.sid });

    // A new hub process: a new worker over the same file, once the retry is due.
    const reopened = outboxOnFile();
    clock.advance(60_000);
    worker = startWorker(reopened);
    await until(async () => (await whoami(browser, 'c')) === null);
    const pending = await reopened.list({ site: sites.c.url }, { limit: 10 });
    await until(async () => (await reopened.list({ site: sites.c.url, status: 'delivered' }, { limit: 10 })).items.length === 1);
    expect(pending.items).toHaveLength(1);
    expect((await reopened.list({ site: sites.c.url }, { limit: 10 })).items[0]).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('logout started from an SDK site ends the session at the hub and on every other site', async () => {
    const browser = new Browser(tls);
    const { user, record } = await sessionOn(browser, ['a', 'b']);
    const crossSite = await browser.request('POST', `${sites.a.url}/shared-session/logout`, { form: {}, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
    expect(await hub.deps.sessions.get(record.sid)).not.toBeNull();

    const reply = await browser.request('POST', `${sites.a.url}/shared-session/logout`, { form: {}, headers: { 'sec-fetch-site': 'same-origin', origin: sites.a.url } });
    expect(reply.status).toBe(303);
    expect(reply.headers.location).toBe(`${sites.a.url}/`);
    expect(await whoami(browser, 'a')).toBeNull();
    expect(await hub.deps.sessions.get(record.sid)).toBeNull();
    const [event] = (await hub.deps.audit.query({ type: 'session.revoked' }, { limit: 5 })).items;
    expect(event).toMatchObject({ sid: record.sid, userId: user.id, reason: 'site-logout', actor: `site:${sites.a.url}` });
    await until(async () => (await whoami(browser, 'b')) === null);
  });

  it('a front-channel beacon ends the SDK site session; a handoff token there is refused', async () => {
    const browser = new Browser(tls);
    const { user, record } = await sessionOn(browser, ['d']);
    const handoff = handoffFor('d', record.sid, user.id);
    expect((await browser.get(`${sites.d.url}/shared-session/logout?token=${handoff}`)).status).toBe(400);
    expect(await whoami(browser, 'd')).toMatchObject({ sid: record.sid });
    const token = mintLogout(hub.deps.keyring, { audience: sites.d.url, sid: record.sid, sub: user.id }, { clock, issuer: hubServer.url });
    const reply = await browser.get(`${sites.d.url}/shared-session/logout?token=${token}`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('image/gif');
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(await whoami(browser, 'd')).toBeNull();
  });

  it('requireActiveSession() asks the hub, caches the answer, and ends a revoked session', async () => {
    const browser = new Browser(tls);
    const { record } = await sessionOn(browser, ['d']);
    const sensitive = async () => (JSON.parse((await browser.get(`${sites.d.url}/sensitive`)).body) as { tessera?: unknown }).tessera ?? null;
    expect(await sensitive()).toMatchObject({ sid: record.sid });

    // Site D has no back-channel URI: only the status check can tell it.
    await revokeSession(hub.deps, record.sid, 'admin', 'cli');
    expect(await whoami(browser, 'd')).toMatchObject({ sid: record.sid });
    expect(await sensitive()).toMatchObject({ sid: record.sid }); // cached "active" for 5 s
    clock.advance(5_000);
    expect(await sensitive()).toBeNull();
    expect(await whoami(browser, 'd')).toBeNull();
  });

  it('a status check right after a beacon finds the session: the link, with its proof, is recorded before the beacon answers', async () => {
    const browser = new Browser(tls);
    const signed = await signedInSession(hub);
    expect((await browser.get(`${sites.d.url}/shared-session/${handoffFor('d', signed.record.sid, signed.user.id)}.gif`)).status).toBe(200);
    expect((await hub.deps.sessions.get(signed.record.sid))!.sites.map((l) => [l.site, l.src])).toEqual([[sites.d.url, hubServer.host]]);
    expect(JSON.parse((await browser.get(`${sites.d.url}/sensitive`)).body)).toMatchObject({ tessera: { sid: signed.record.sid } });
    expect(sites.d.logger.codes()).toEqual([]);
  });

  it('a link report the hub failed to write (503) is made again with the same proof before the status check: the visitor stays signed in', async () => {
    const browser = new Browser(tls);
    const signed = await signedInSession(hub);
    const linkSite = jest.spyOn(hub.deps.sessions, 'linkSite').mockRejectedValueOnce(new TesseraError('ERR_STORE_UNAVAILABLE', 'the store did not answer'));
    try {
      expect((await browser.get(`${sites.d.url}/shared-session/${handoffFor('d', signed.record.sid, signed.user.id)}.gif`)).status).toBe(200);
      expect(JSON.parse((await browser.get(`${sites.d.url}/sensitive`)).body)).toMatchObject({ tessera: { sid: signed.record.sid } });
      expect((await hub.deps.sessions.get(signed.record.sid))!.sites.map((l) => l.site)).toEqual([sites.d.url]);
      expect(sites.d.logger.codes()).not.toContain('ERR_LINK_PROOF');
    } finally {
      linkSite.mockRestore();
    }
  });

  // A correctness check repeated to catch races, not a timing test: the figure for the issue's
  // 1 s target is measured by bench/revocation.js (the same trial, timed) and recorded in
  // bench/README.md.
  it('reaches all three sites in each of 100 revocations', async () => {
    for (let trial = 0; trial < 100; trial += 1) {
      const browser = new Browser(tls);
      const { record } = await sessionOn(browser, ['a', 'b', 'c']);
      await revokeSession(hub.deps, record.sid, 'admin', 'cli');
      await Promise.all((['a', 'b', 'c'] as const).map((name) => until(async () => (await whoami(browser, name)) === null, 10_000)));
    }
  }, 120_000);
});
