/**
 * The bounce's `accept` on a site with `strictReferer`. The hub's pages send
 * `Referrer-Policy: no-referrer`, so the browser posts the auto-submitted form with
 * `Origin: null` and no Referer (Fetch: "serializing a request origin"), and follows a redirect
 * with neither header. The state cookie is what ties a bounce's token to this browser; the
 * Referer/Origin rule is the beacons' (as at the hub's own receiver), so strict mode must not
 * turn away every bounce.
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
  site = await startKoaSite(tls, hub, { strictReferer: true });
});

afterEach(() => site.close());

async function startBounce(browser: Browser): Promise<string> {
  const res = await browser.get(`${site.url}/shared-session/start?return_to=/after`);
  return new URL(res.headers.location ?? '').searchParams.get('state') ?? '';
}

describe('accept with strictReferer', () => {
  it('takes the form POST a no-referrer hub page sends (Origin: null, no Referer)', async () => {
    const browser = new Browser(tls);
    const state = await startBounce(browser);
    const sid = newSid();
    const res = await browser.post(`${site.url}/shared-session/accept`, { token: hub.mint({ audience: site.url, sid, sub: 'user-7' }), state, return_to: '/after' }, { origin: 'null' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${site.url}/after`);
    expect(site.logger.codes()).toEqual([]);
    expect((await browser.whoami(site)).tessera).toMatchObject({ sid, sub: 'user-7' });
  });

  it('takes the redirect mode GET, which carries neither header', async () => {
    const browser = new Browser(tls);
    const state = await startBounce(browser);
    const sid = newSid();
    const query = new URLSearchParams({ token: hub.mint({ audience: site.url, sid, sub: 'user-7' }), state, return_to: '/after' });
    const res = await browser.get(`${site.url}/shared-session/accept?${query.toString()}`);
    expect(res.status).toBe(303);
    expect((await browser.whoami(site)).tessera).toMatchObject({ sid });
  });

  it('still requires a Referer or Origin on beacons', async () => {
    const res = await new Browser(tls).get(`${site.url}/shared-session/${hub.mint({ audience: site.url, sid: newSid(), sub: 'u' })}.js`);
    expect(res.status).toBe(400);
    expect(res.setCookies).toEqual([]);
    expect(site.logger.codes()).toEqual(['ERR_HANDOFF_REFERER']);
  });

  it('still refuses a token without the state, whatever the headers', async () => {
    const browser = new Browser(tls);
    await startBounce(browser);
    const res = await browser.post(`${site.url}/shared-session/accept`, { token: hub.mint({ audience: site.url, sid: newSid(), sub: 'u' }), state: 'x'.repeat(43), return_to: '/' }, { origin: hub.url });
    expect(res.status).toBe(400);
    expect(res.setCookies).toEqual([]);
    expect(site.logger.codes()).toEqual(['ERR_HANDOFF_STATE']);
  });
});
