/**
 * `loader.js` and `beaconTags()`: beacons from the hub's site API for the visitor's session,
 * nothing without one, and warm pages not calling the hub at all.
 */
import type Koa from 'koa';
import { FrozenClock } from '../../src/core/clock';
import { renderBeaconTags, renderLoaderScript, type Beacon } from '../../src/core/receiver/loader';
import type { Destination } from '../../src/destination';
import { Browser, newSid, startKoaSite, startStandInHub, testTls, type StandInHub, type TestSite, type Tls } from './support';

let tls: Tls;
let hub: StandInHub;
let site: TestSite;

const BEACONS: Beacon[] = [
  { url: 'https://shop.example.net/shared-session/aaa.bbb.ccc.js', kind: 'script' },
  { url: 'https://news.example.com/shared-session/ddd.eee.fff.gif', kind: 'image' },
];

/** `/page` renders beaconTags with a nonce. */
const withPage = (destination: Destination): Koa.Middleware[] => [
  async (ctx, next) => {
    if (ctx.path !== '/page') return next();
    ctx.type = 'html';
    ctx.body = await destination.beaconTags(ctx, 'r4nd0m');
  },
];

beforeAll(async () => {
  tls = await testTls();
  hub = await startStandInHub(tls, new FrozenClock(Date.now()));
});

afterAll(() => hub.close());

beforeEach(async () => {
  hub.beaconCalls.length = 0;
  hub.beaconsToAnswer = BEACONS;
  site = await startKoaSite(tls, hub, {}, withPage);
});

afterEach(() => site.close());

async function signedIn(target: TestSite = site): Promise<{ browser: Browser; sid: string }> {
  const browser = new Browser(tls);
  const sid = newSid();
  expect((await browser.get(`${target.url}/shared-session/${hub.mint({ audience: target.url, sid, sub: 'u' })}.js`)).status).toBe(200);
  return { browser, sid };
}

describe('loader.js', () => {
  it('answers an empty script without asking the hub when the visitor has no session', async () => {
    const res = await new Browser(tls).get(`${site.url}/shared-session/loader.js`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/javascript; charset=utf-8');
    expect(res.headers).toMatchObject({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' });
    expect(res.body).toBe('');
    expect(hub.beaconCalls).toEqual([]);
  });

  it('asks the hub with the credential for the sid and renders its beacons', async () => {
    const { browser, sid } = await signedIn();
    const res = await browser.get(`${site.url}/shared-session/loader.js`);
    expect(res.status).toBe(200);
    expect(res.body).toBe(renderLoaderScript(BEACONS));
    expect(hub.beaconCalls).toEqual([{ sid, authorization: `Bearer ${hub.credential}` }]);
  });

  it('drops beacons the hub describes badly', async () => {
    hub.beaconsToAnswer = [BEACONS[0]!, { url: 'javascript:alert(1)', kind: 'script' }, { url: 'https://x.example/a.js', kind: 'iframe' } as unknown as Beacon];
    const { browser } = await signedIn();
    expect((await browser.get(`${site.url}/shared-session/loader.js`)).body).toBe(renderLoaderScript([BEACONS[0]!]));
  });

  it('remembers "nothing to do" for a minute, so warm pages do not call the hub', async () => {
    hub.beaconsToAnswer = [];
    const { browser } = await signedIn();
    for (let i = 0; i < 3; i++) expect((await browser.get(`${site.url}/shared-session/loader.js`)).body).toBe('');
    expect(hub.beaconCalls).toHaveLength(1);
    hub.clock.advance(61_000);
    await browser.get(`${site.url}/shared-session/loader.js`);
    expect(hub.beaconCalls).toHaveLength(2);
  });

  it('never remembers beacons: each page view gets fresh tokens', async () => {
    const { browser } = await signedIn();
    await browser.get(`${site.url}/shared-session/loader.js`);
    await browser.get(`${site.url}/shared-session/loader.js`);
    expect(hub.beaconCalls).toHaveLength(2);
  });

  it('stays empty and logs the code when the hub refuses the credential', async () => {
    const wrong = await startKoaSite(tls, hub, { credential: 'not-the-right-credential' });
    try {
      const { browser } = await signedIn(wrong);
      const res = await browser.get(`${wrong.url}/shared-session/loader.js`);
      expect(res.status).toBe(200);
      expect(res.body).toBe('');
      expect(wrong.logger.lines.filter((l) => l.message === 'no beacons from the hub').map((l) => l.fields.code)).toEqual(['ERR_SITE_CREDENTIAL']);
    } finally {
      await wrong.close();
    }
  });

  it('stays empty without a credential, calling nobody', async () => {
    const anonymousSite = await startKoaSite(tls, hub, { credential: undefined });
    try {
      const { browser } = await signedIn(anonymousSite);
      expect((await browser.get(`${anonymousSite.url}/shared-session/loader.js`)).body).toBe('');
      expect(hub.beaconCalls).toEqual([]);
    } finally {
      await anonymousSite.close();
    }
  });
});

describe('beaconTags', () => {
  it('renders the same beacons as tags carrying the CSP nonce', async () => {
    const { browser } = await signedIn();
    const res = await browser.get(`${site.url}/page`);
    expect(res.body).toBe(renderBeaconTags(BEACONS, 'r4nd0m'));
    expect(res.body).toContain('<script async src="https://shop.example.net/shared-session/aaa.bbb.ccc.js" referrerpolicy="origin" nonce="r4nd0m"></script>');
  });

  it('escapes what it interpolates', async () => {
    hub.beaconsToAnswer = [{ url: 'https://shop.example.net/"><script>alert(1)</script>.js', kind: 'script' }];
    const { browser } = await signedIn();
    const page = await browser.get(`${site.url}/page`);
    expect(page.body).not.toContain('<script>alert');
    expect(page.body).toContain('&quot;&gt;&lt;script&gt;');
    const script = (await browser.get(`${site.url}/shared-session/loader.js`)).body;
    expect(script).not.toContain('<script');
    expect(script).not.toContain('</script');
    expect(script).toContain('\\u003cscript\\u003e');
  });

  it('renders nothing for a visitor without a session', async () => {
    expect((await new Browser(tls).get(`${site.url}/page`)).body).toBe('');
    expect(await site.destination.beaconTags(null, 'n')).toBe('');
    expect(hub.beaconCalls).toEqual([]);
  });
});
