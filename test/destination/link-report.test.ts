/**
 * The link report (`POST <hub>/api/v1/sites/links`) carries its proof: the handoff token the site
 * just accepted. It is made before the accepting request answers (so a status check right after
 * finds the link), retried briefly when the hub cannot be reached, and, when still unanswered,
 * kept in the site session for `loader.js` to report again. A refusal is logged once (never with
 * the token) and not retried.
 */
import { FrozenClock } from '../../src/core/clock';
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
  hub.linkCalls.length = 0;
  hub.beaconCalls.length = 0;
  hub.linkAnswers = [];
  hub.beaconsToAnswer = [];
  site = await startKoaSite(tls, hub);
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
    expect(await storedTessera(browser)).toMatchObject({ sid, linkProof: token });
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
});
