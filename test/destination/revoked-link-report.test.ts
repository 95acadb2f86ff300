/**
 * A link report the real hub answers "the session has ended" (`404 ERR_SESSION_ENDED`): the session
 * was revoked at the hub before this site's link reached it (the user signed out everywhere just
 * after the handoff), so the hub sent this site no back-channel logout. The site must not keep
 * the session: it ends it as a back-channel logout would (every local session of the sid, the sid
 * remembered as ended) — in the request that reported (a beacon, `accept`, `loader.js`,
 * `beaconTags()`, `verifyHandoff()`) and from a background retry. A transient failure (the hub's
 * store down: 503) keeps today's behaviour: the session and its proof stay, the report is retried.
 *
 * The real hub app (createHub) over HTTPS on loopback, and a Koa site on the SDK.
 */
import { createHash } from 'node:crypto';
import type { RequestListener } from 'node:http';
import Koa from 'koa';
import { FrozenClock } from '../../src/core/clock';
import { TesseraError } from '../../src/core/errors';
import { mintHandoff } from '../../src/core/tokens/handoff';
import { createDestination, type Destination } from '../../src/destination';
import { createHub } from '../../src/hub/app';
import { revokeSession } from '../../src/hub/revocation/revoke';
import { signedInSession, type SignedIn } from '../hub/handoff-support';
import { startTestHub, testConfig, type TestHub } from '../support/hub';
import { Browser, RecordingLogger, listenHttps, testTls, type HttpsServer, type Tls } from './support';

const credential = 'credential-of-the-site-0123456789';
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

let tls: Tls;
let clock: FrozenClock;
let hubServer: HttpsServer;
let hub: TestHub;
let site: HttpsServer;
let destination: Destination;
let logger: RecordingLogger;
/** While true the hub's session store fails to write site links: the hub answers link reports 503. */
let linkStoreDown: boolean;

beforeAll(async () => {
  tls = await testTls();
});

beforeEach(async () => {
  clock = new FrozenClock(Date.UTC(2026, 10, 22, 12, 0, 0));
  linkStoreDown = false;
  const hubListener: { current: RequestListener } = { current: () => undefined };
  hubServer = await listenHttps(tls, hubListener);
  const siteListener: { current: RequestListener } = { current: () => undefined };
  site = await listenHttps(tls, siteListener);
  // No back-channel URI, no outbox worker: this site hears of the revocation only from the hub's link answer.
  hub = await startTestHub({ config: testConfig({ TESSERA_PUBLIC_URL: hubServer.url, TESSERA_SITES: JSON.stringify([{ origin: site.url, credentialHash: sha256(credential) }]) }), clock });
  const linkSite = hub.deps.sessions.linkSite.bind(hub.deps.sessions);
  jest.spyOn(hub.deps.sessions, 'linkSite').mockImplementation(async (sid, link) => {
    if (linkStoreDown) throw new TesseraError('ERR_STORE_UNAVAILABLE', 'the store did not answer');
    return linkSite(sid, link);
  });
  hubListener.current = createHub(hub.deps).callback();

  logger = new RecordingLogger();
  destination = createDestination({ hubUrl: hubServer.url, siteOrigin: site.url, ca: tls.cert, clock, logger, credential });
  const app = new Koa();
  const requireSession = destination.requireSession();
  app.use(destination.middleware());
  app.use(async (ctx, next) => (ctx.path === '/protected' ? requireSession(ctx, next) : next()));
  app.use(async (ctx, next) => {
    if (ctx.path !== '/tags') return next();
    const tags = await destination.beaconTags(ctx, null);
    ctx.body = { tags, tessera: ctx.state.tessera };
  });
  app.use((ctx) => {
    ctx.body = { tessera: ctx.state.tessera, session: (ctx as unknown as { session: unknown }).session };
  });
  siteListener.current = app.callback();
});

afterEach(async () => {
  jest.restoreAllMocks();
  await destination.close();
  await site.close();
  await hubServer.close();
  await hub.close();
});

const handoffFor = (signed: SignedIn): string =>
  mintHandoff(hub.deps.keyring, { audience: site.url, sid: signed.record.sid, sub: signed.user.id, src: hubServer.host, identity: {} }, { clock, issuer: hubServer.url, ttlSeconds: 60 });

const beacon = (browser: Browser, token: string) => browser.get(`${site.url}/shared-session/${token}.gif`);

async function whoami(browser: Browser): Promise<{ tessera: unknown; session: unknown }> {
  return JSON.parse((await browser.get(`${site.url}/whoami`)).body) as { tessera: unknown; session: unknown };
}

/** The sid is remembered as ended here: a fresh, valid token for it is refused. */
async function expectRememberedAsEnded(signed: SignedIn): Promise<void> {
  const other = new Browser(tls);
  expect((await beacon(other, handoffFor(signed))).status).toBe(400);
  expect(logger.codes().at(-1)).toBe('ERR_HANDOFF_SESSION_ENDED');
  expect((await whoami(other)).tessera).toBeNull();
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('a link report for a session the hub has ended', () => {
  it('refuses the beacon that carried it: no session here, the sid remembered as ended, requireSession() bounces', async () => {
    const signed = await signedInSession(hub);
    const token = handoffFor(signed);
    await revokeSession(hub.deps, signed.record.sid, 'user-logout', 'user');

    const browser = new Browser(tls);
    const reply = await beacon(browser, token);
    expect(reply.status).toBe(400);
    expect(reply.headers['content-type']).toBe('image/gif');
    expect(logger.codes()).toEqual(['ERR_SESSION_ENDED', 'ERR_HANDOFF_SESSION_ENDED']);
    expect(logger.text()).not.toContain(token);
    expect((await whoami(browser)).tessera).toBeNull();
    const bounced = await browser.get(`${site.url}/protected`);
    expect(bounced.status).toBe(303);
    expect(new URL(bounced.headers.location ?? '').pathname).toBe('/handoff');
    await expectRememberedAsEnded(signed);
  });

  it("refuses the bounce's accept that carried it", async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(tls);
    const start = await browser.get(`${site.url}/shared-session/start?return_to=%2Fafter`);
    const state = new URL(start.headers.location ?? '').searchParams.get('state')!;
    const token = handoffFor(signed);
    await revokeSession(hub.deps, signed.record.sid, 'user-logout', 'user');

    const reply = await browser.post(`${site.url}/shared-session/accept`, { token, state, return_to: `${site.url}/after` }, { origin: 'null' });
    expect(reply.status).toBe(400);
    expect(logger.codes()).toEqual(['ERR_SESSION_ENDED', 'ERR_HANDOFF_SESSION_ENDED']);
    expect((await whoami(browser)).tessera).toBeNull();
  });

  it('ends the session this browser already holds for the sid when a token for it is reported', async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(tls);
    expect((await beacon(browser, handoffFor(signed))).status).toBe(200);
    expect((await whoami(browser)).tessera).toMatchObject({ sid: signed.record.sid });
    // The hub ends the session; this site misses the back-channel logout (it has none here).
    const later = handoffFor(signed);
    await revokeSession(hub.deps, signed.record.sid, 'admin', 'cli');

    expect((await beacon(browser, later)).status).toBe(400);
    expect((await whoami(browser)).tessera).toBeNull();
    await expectRememberedAsEnded(signed);
  });

  it('verifyHandoff() rejects with ERR_HANDOFF_SESSION_ENDED', async () => {
    const signed = await signedInSession(hub);
    const token = handoffFor(signed);
    await revokeSession(hub.deps, signed.record.sid, 'user-logout', 'user');
    await expect(destination.verifyHandoff(token)).rejects.toMatchObject({ code: 'ERR_HANDOFF_SESSION_ENDED' });
    await expectRememberedAsEnded(signed);
  });

  it('made again from the kept proof in a request (beaconTags): that request and the next go on without the session', async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(tls);
    linkStoreDown = true;
    // A transient failure (503), at the beacon and again at a report in a request: the session and its proof are kept.
    expect((await beacon(browser, handoffFor(signed))).status).toBe(200);
    expect(JSON.parse((await browser.get(`${site.url}/tags`)).body)).toMatchObject({ tessera: { sid: signed.record.sid } });
    expect((await whoami(browser)).session).toMatchObject({ tessera: { sid: signed.record.sid, linkProof: expect.any(String) } });
    expect(logger.codes()).toEqual(['ERR_HUB_UNAVAILABLE', 'ERR_HUB_UNAVAILABLE']);

    await revokeSession(hub.deps, signed.record.sid, 'user-logout', 'user');
    linkStoreDown = false;
    expect(JSON.parse((await browser.get(`${site.url}/tags`)).body)).toEqual({ tags: '', tessera: null });
    expect((await whoami(browser)).tessera).toBeNull();
    expect(logger.codes()).toContain('ERR_SESSION_ENDED');
    await expectRememberedAsEnded(signed);
  });

  it('made again from the kept proof by loader.js: the session ends', async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(tls);
    linkStoreDown = true;
    expect((await beacon(browser, handoffFor(signed))).status).toBe(200);
    await revokeSession(hub.deps, signed.record.sid, 'user-logout', 'user');
    linkStoreDown = false;
    const loader = await browser.get(`${site.url}/shared-session/loader.js`);
    expect(loader.status).toBe(200);
    expect((await whoami(browser)).tessera).toBeNull();
  });

  it('answered to a background retry: every local session of the sid ends, the sid remembered as ended', async () => {
    const signed = await signedInSession(hub);
    const browser = new Browser(tls);
    linkStoreDown = true;
    expect((await beacon(browser, handoffFor(signed))).status).toBe(200);
    expect((await whoami(browser)).tessera).toMatchObject({ sid: signed.record.sid });

    await revokeSession(hub.deps, signed.record.sid, 'user-logout', 'user');
    linkStoreDown = false;
    // No request reports the kept proof: /whoami does not; the retry about a second later does.
    await until(async () => (await whoami(browser)).tessera === null);
    expect(logger.codes()).toEqual(['ERR_HUB_UNAVAILABLE', 'ERR_SESSION_ENDED']);
    await expectRememberedAsEnded(signed);
  });
});
