/**
 * The link report (`POST <hub>/api/v1/sites/links`) carries its proof: the handoff token the site
 * just accepted. It is made before the accepting request answers (so a status check right after
 * finds the link), with a short timeout of its own, retried briefly when the hub cannot be
 * reached (a bounded number of retries, one per sid), and, when still unanswered, kept in the
 * site session with its expiry, to be reported again before `loader.js`, `beaconTags()` and
 * `requireActiveSession()` rely on the link — until a background retry gets it through or the
 * hub's grace is over. A refusal is logged once (never with the token) and not retried.
 */
import type Koa from 'koa';
import { FrozenClock } from '../../src/core/clock';
import { TesseraError } from '../../src/core/errors';
import type { Destination } from '../../src/destination';
import type { HubClient } from '../../src/destination/hub-client';
import { LINK_PROOF_GRACE_SECONDS, LinkReporter } from '../../src/destination/link-report';
import { Browser, RecordingLogger, newSid, startKoaSite, startStandInHub, testTls, type StandInHub, type TestSite, type Tls } from './support';

let tls: Tls;
let hub: StandInHub;
let site: TestSite;

beforeAll(async () => {
  tls = await testTls();
  hub = await startStandInHub(tls, new FrozenClock(Date.now()));
});

afterAll(() => hub.close());

/** `/sensitive` behind requireActiveSession(), `/tags` answering beaconTags() for the request. */
const routes = (destination: Destination): Koa.Middleware[] => {
  const requireActive = destination.requireActiveSession();
  return [
    async (ctx, next) => (ctx.path === '/sensitive' ? requireActive(ctx, next) : next()),
    async (ctx, next) => {
      if (ctx.path !== '/tags') return next();
      ctx.body = await destination.beaconTags(ctx, null);
    },
  ];
};

beforeEach(async () => {
  hub.linkCalls.length = 0;
  hub.beaconCalls.length = 0;
  hub.statusCalls.length = 0;
  hub.linked.clear();
  hub.linkAnswers = [];
  hub.beaconsToAnswer = [];
  site = await startKoaSite(tls, hub, {}, routes);
});

afterEach(() => site.close());

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The `tessera` member of the visitor's stored site session, proof included. */
async function storedTessera(browser: Browser): Promise<Record<string, unknown>> {
  return ((await browser.whoami(site)).session as { tessera: Record<string, unknown> }).tessera;
}

const expOf = (token: string): number => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp;

/** The hub cannot take link reports for a while: the report, its retries and more answer 503. */
const hubDownForLinks = (): void => {
  hub.linkAnswers = Array.from({ length: 20 }, () => 503);
};

/** A visitor signed in on the site by a beacon while the hub cannot take link reports: the proof is kept. */
async function signInWhileHubRefusesLinks(): Promise<{ browser: Browser; sid: string; token: string }> {
  hubDownForLinks();
  const browser = new Browser(tls);
  const sid = newSid();
  const token = hub.mint({ audience: site.url, sid, sub: 'u' });
  await beacon(browser, token);
  return { browser, sid, token };
}

async function beacon(browser: Browser, token: string): Promise<void> {
  expect((await browser.get(`${site.url}/shared-session/${token}.js`)).status).toBe(200);
}

describe('the link report', () => {
  it('carries the accepted beacon token, and is answered before the beacon is', async () => {
    const browser = new Browser(tls);
    const sid = newSid();
    const token = hub.mint({ audience: site.url, sid, sub: 'user-7' });
    await beacon(browser, token);
    expect(hub.linkCalls).toEqual([{ sid, token, authorization: `Bearer ${hub.credential}` }]);
    // Reported: nothing kept for loader.js, and nothing exposed to the application.
    expect(await storedTessera(browser)).not.toHaveProperty('linkProof');
    expect((await browser.whoami(site)).tessera).toEqual({ sid, sub: 'user-7', claims: {}, src: hub.host });
  });

  it('carries the token of a bounce too', async () => {
    const browser = new Browser(tls);
    const start = await browser.get(`${site.url}/shared-session/start?return_to=%2F`);
    const state = new URL(start.headers.location ?? '').searchParams.get('state')!;
    const sid = newSid();
    const token = hub.mint({ audience: site.url, sid, sub: 'user-7' });
    const res = await browser.post(`${site.url}/shared-session/accept`, { token, state, return_to: `${site.url}/` }, { origin: hub.url });
    expect(res.status).toBe(303);
    expect(hub.linkCalls).toEqual([{ sid, token, authorization: `Bearer ${hub.credential}` }]);
  });

  it('is made again, with the new token, when a token for the sid this browser holds arrives', async () => {
    const browser = new Browser(tls);
    const sid = newSid();
    const first = hub.mint({ audience: site.url, sid, sub: 'u' });
    const second = hub.mint({ audience: site.url, sid, sub: 'u' });
    await beacon(browser, first);
    await beacon(browser, second);
    expect(hub.linkCalls.map((c) => c.token)).toEqual([first, second]);
  });

  it('verifyHandoff() reports the link with the token as well', async () => {
    const sid = newSid();
    const token = hub.mint({ audience: site.url, sid, sub: 'u' });
    await site.destination.verifyHandoff(token);
    expect(hub.linkCalls).toEqual([{ sid, token, authorization: `Bearer ${hub.credential}` }]);
  });

  it('is retried when the hub cannot take it, and the token stays in the session until reported', async () => {
    hub.linkAnswers = [503];
    const browser = new Browser(tls);
    const sid = newSid();
    const token = hub.mint({ audience: site.url, sid, sub: 'u' });
    await beacon(browser, token);
    expect(await storedTessera(browser)).toMatchObject({ sid, linkProof: token, linkProofExp: expOf(token) });
    await until(() => hub.linkCalls.length === 2);
    expect(hub.linkCalls.map((c) => [c.sid, c.token])).toEqual([[sid, token], [sid, token]]);
    expect(site.logger.lines.some((l) => l.message.includes('link report') && l.fields.code === 'ERR_HUB_UNAVAILABLE')).toBe(true);
    expect(site.logger.text()).not.toContain(token);
  });

  it('is made again by loader.js with the kept token, before asking for beacons; then the token is dropped', async () => {
    // The hub is down for the report and its first retries.
    hub.linkAnswers = [503, 503, 503, 503];
    const browser = new Browser(tls);
    const sid = newSid();
    const token = hub.mint({ audience: site.url, sid, sub: 'u' });
    await beacon(browser, token);
    expect(await storedTessera(browser)).toMatchObject({ linkProof: token });

    hub.linkAnswers = [];
    const before = hub.linkCalls.length;
    expect((await browser.get(`${site.url}/shared-session/loader.js`)).status).toBe(200);
    expect(hub.linkCalls.length).toBeGreaterThan(before);
    expect(hub.linkCalls.every((c) => c.sid === sid && c.token === token)).toBe(true);
    expect(hub.beaconCalls).toEqual([{ sid, authorization: `Bearer ${hub.credential}` }]);
    expect(await storedTessera(browser)).not.toHaveProperty('linkProof');
  });

  it('is not retried once the hub refuses it: logged with the code, never with the token, and nothing kept', async () => {
    hub.linkAnswers = [{ status: 400, code: 'ERR_LINK_PROOF' }];
    const browser = new Browser(tls);
    const sid = newSid();
    const token = hub.mint({ audience: site.url, sid, sub: 'u' });
    await beacon(browser, token);
    expect(site.logger.codes()).toEqual(['ERR_LINK_PROOF']);
    expect(site.logger.text()).not.toContain(token);
    expect(await storedTessera(browser)).not.toHaveProperty('linkProof');
    await browser.get(`${site.url}/shared-session/loader.js`);
    expect(hub.linkCalls).toHaveLength(1);
  });

  it('is left in the site session by a background retry that gets it through (no write outside a request), and dropped by the next report', async () => {
    hub.linkAnswers = [503];
    const browser = new Browser(tls);
    const sid = newSid();
    const token = hub.mint({ audience: site.url, sid, sub: 'u' });
    await beacon(browser, token);
    expect(await storedTessera(browser)).toMatchObject({ linkProof: token });
    await until(() => hub.linked.has(sid));
    // The retry got through, but rewriting the stored session from outside a request could undo
    // a concurrent request's own change: the proof stays until a request reports it again.
    expect(hub.linkCalls.map((c) => c.token)).toEqual([token, token]);
    expect(await storedTessera(browser)).toMatchObject({ linkProof: token });
    expect((await browser.get(`${site.url}/shared-session/loader.js`)).status).toBe(200);
    expect(hub.linkCalls.map((c) => c.token)).toEqual([token, token, token]);
    expect(await storedTessera(browser)).not.toHaveProperty('linkProof');
    expect(await storedTessera(browser)).not.toHaveProperty('linkProofExp');
  });

  it('is made again before the status check, so requireActiveSession() finds the link instead of signing the visitor out', async () => {
    const { browser, sid, token } = await signInWhileHubRefusesLinks();
    expect(await storedTessera(browser)).toMatchObject({ linkProof: token });

    hub.linkAnswers = [];
    const res = await browser.get(`${site.url}/sensitive`);
    expect(JSON.parse(res.body)).toMatchObject({ tessera: { sid } });
    expect(hub.linked.has(sid)).toBe(true);
    expect(hub.statusCalls).toEqual([{ sid, authorization: `Bearer ${hub.credential}` }]);
    expect(await storedTessera(browser)).not.toHaveProperty('linkProof');
  });

  it('makes requireActiveSession() fail closed (503), not sign out, while the kept proof still cannot be reported', async () => {
    const { browser, sid, token } = await signInWhileHubRefusesLinks();
    const res = await browser.get(`${site.url}/sensitive`);
    expect(res.status).toBe(503);
    // The hub answered "not active" only because it does not know the link yet: still signed in, proof kept.
    expect((await browser.whoami(site)).tessera).toMatchObject({ sid });
    expect(await storedTessera(browser)).toMatchObject({ linkProof: token });
  });

  it('is made again by beaconTags() before it asks for beacons', async () => {
    const { browser, sid } = await signInWhileHubRefusesLinks();

    hub.linkAnswers = [];
    hub.beaconsToAnswer = [{ url: 'https://shop.example.net/shared-session/t.gif', kind: 'image' }];
    const before = hub.linkCalls.length;
    const res = await browser.get(`${site.url}/tags`);
    expect(res.body).toContain('https://shop.example.net/shared-session/t.gif');
    expect(hub.linkCalls.length).toBeGreaterThan(before);
    expect(hub.linked.has(sid)).toBe(true);
    expect(hub.beaconCalls).toEqual([{ sid, authorization: `Bearer ${hub.credential}` }]);
    expect(await storedTessera(browser)).not.toHaveProperty('linkProof');
  });

  it("is dropped, unreported, once the hub's grace for it is over", async () => {
    const { browser, token } = await signInWhileHubRefusesLinks();
    expect(await storedTessera(browser)).toMatchObject({ linkProof: token });

    // The hub would refuse it now: the site forgets it rather than carry it for the session's life.
    const tolerance = 5;
    hub.clock.advance((expOf(token) + tolerance + LINK_PROOF_GRACE_SECONDS) * 1000 - hub.clock.now());
    expect((await browser.get(`${site.url}/shared-session/loader.js`)).status).toBe(200);
    expect(await storedTessera(browser)).not.toHaveProperty('linkProof');
  });

  it('waits for the hub no longer than linkReportTimeoutMs inside a request; the kept proof covers the rest', async () => {
    const patient = await startKoaSite(tls, hub, { hubTimeoutMs: 30_000, linkReportTimeoutMs: 200 });
    try {
      hub.linkAnswers = ['hang'];
      const browser = new Browser(tls);
      const sid = newSid();
      const token = hub.mint({ audience: patient.url, sid, sub: 'u' });
      expect((await browser.get(`${patient.url}/shared-session/${token}.js`)).status).toBe(200);
      const tessera = ((await browser.whoami(patient)).session as { tessera: Record<string, unknown> }).tessera;
      expect(tessera).toMatchObject({ sid, linkProof: token });
      expect(patient.logger.codes()).toContain('ERR_HUB_UNAVAILABLE');
    } finally {
      await patient.close();
    }
  });
});

describe('LinkReporter retries', () => {
  /** A hub client whose link reports never reach the hub. */
  const unreachableHub = (): { client: HubClient; calls: string[] } => {
    const calls: string[] = [];
    const client = {
      enabled: true,
      link: async (sid: string) => {
        calls.push(sid);
        throw new TesseraError('ERR_HUB_UNAVAILABLE', 'no answer');
      },
    } as unknown as HubClient;
    return { client, calls };
  };

  it("takes only the hub's ERR_SESSION_ENDED as an ended session, not a 404 with another code (a hub without the route)", async () => {
    const answering = (code: string) => ({ enabled: true, link: async () => ({ recorded: false, code }) }) as unknown as HubClient;
    const ended = new LinkReporter(answering('ERR_SESSION_ENDED'), new RecordingLogger(), { requestTimeoutMs: 500 });
    const missingRoute = new LinkReporter(answering('ERR_NOT_FOUND'), new RecordingLogger(), { requestTimeoutMs: 500 });
    try {
      expect(await ended.report('sid-1', 'proof')).toBe('ended');
      expect(await missingRoute.report('sid-1', 'proof')).toBe('refused');
    } finally {
      ended.close();
      missingRoute.close();
    }
  });

  it('keeps at most maxPending retries, one per sid, the newest proof replacing an older one', async () => {
    const { client } = unreachableHub();
    const logger = new RecordingLogger();
    const links = new LinkReporter(client, logger, { requestTimeoutMs: 500, maxPending: 2 });
    try {
      expect(await links.report('sid-1', 'proof-1a')).toBe('unreachable');
      expect(await links.report('sid-1', 'proof-1b')).toBe('unreachable');
      expect(links.pendingRetries).toBe(1);
      await links.report('sid-2', 'proof-2');
      await links.report('sid-3', 'proof-3');
      await links.report('sid-4', 'proof-4');
      expect(links.pendingRetries).toBe(2);
      expect(logger.lines.some((l) => l.message.includes('too many') && l.fields.sid === 'sid-3')).toBe(true);
    } finally {
      links.close();
    }
    expect(links.pendingRetries).toBe(0);
  });
});
