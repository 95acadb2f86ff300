/**
 * The SDK README's code blocks are the files under examples/destination/ (so they cannot
 * drift), and those examples work against a hub: signed out, bounced, signed in, beacons.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { RequestListener } from 'node:http';
import { join } from 'node:path';
import { createKoaSite } from '../../examples/destination/koa-site';
import { createNodeSite } from '../../examples/destination/node-http-site';
import { FrozenClock } from '../../src/core/clock';
import { Browser, RecordingLogger, listenHttps, newSid, startStandInHub, testTls, type HttpsServer, type StandInHub, type Tls } from './support';

const root = join(__dirname, '..', '..');
const examplesDir = join(root, 'examples', 'destination');

let tls: Tls;
let hub: StandInHub;

beforeAll(async () => {
  tls = await testTls();
  hub = await startStandInHub(tls, new FrozenClock(Date.now()));
});

afterAll(() => hub.close());

describe('the README', () => {
  it('shows every example file verbatim (importing the package), and no other code', () => {
    const readme = readFileSync(join(root, 'src', 'destination', 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]);
    const examples = readdirSync(examplesDir)
      .filter((name) => name.endsWith('.ts'))
      .sort()
      .map((name) => readFileSync(join(examplesDir, name), 'utf8').replace("from '../../src/destination'", "from 'tessera/destination'"));
    expect(examples).toHaveLength(2);
    expect([...blocks].sort()).toEqual([...examples].sort());
  });
});

/** A bounce as the hub completes it for a signed-in user: a token back to accept by form POST. */
async function bounceSignedIn(browser: Browser, location: string, identity: Record<string, unknown>): Promise<string> {
  const query = new URL(location).searchParams;
  const token = hub.mint({ audience: query.get('dst')!, sid: newSid(), sub: 'user-7', identity });
  const back = await browser.post(`${query.get('dst')}/shared-session/accept`, { token, state: query.get('state')!, return_to: query.get('return_to')! }, { origin: hub.url });
  expect(back.status).toBe(303);
  return back.headers.location!;
}

describe('examples/destination/koa-site.ts', () => {
  let server: HttpsServer;
  let close: () => Promise<void>;

  beforeEach(async () => {
    const listener: { current: RequestListener } = { current: () => undefined };
    server = await listenHttps(tls, listener);
    const site = createKoaSite({ hubUrl: hub.url, siteOrigin: server.url, credential: hub.credential, ca: tls.cert, clock: hub.clock, logger: new RecordingLogger() });
    listener.current = site.app.callback();
    close = site.close;
  });

  afterEach(async () => {
    await close();
    await server.close();
  });

  it('bounces a new visitor through the hub and shows who came back, with nonce-carrying beacons', async () => {
    hub.beaconsToAnswer = [{ url: 'https://shop.example.net/shared-session/a.b.c.js', kind: 'script' }];
    const browser = new Browser(tls);
    const first = await browser.get(`${server.url}/`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toMatch(new RegExp(`^${hub.url}/handoff\\?`));

    const returnTo = await bounceSignedIn(browser, first.headers.location!, { email: 'ada@example.org' });
    const page = await browser.get(returnTo);
    expect(page.status).toBe(200);
    expect(page.body).toContain(`Signed in as ada@example.org, from ${hub.host}`);
    const nonce = /script-src 'nonce-([^']+)'/.exec(String(page.headers['content-security-policy']))?.[1];
    expect(page.body).toContain(`<script async src="https://shop.example.net/shared-session/a.b.c.js" referrerpolicy="origin" nonce="${nonce}"></script>`);
  });

  it('escapes what it shows', async () => {
    hub.beaconsToAnswer = [];
    const browser = new Browser(tls);
    const first = await browser.get(`${server.url}/`);
    const page = await browser.get(await bounceSignedIn(browser, first.headers.location!, { email: '<b>ada</b>' }));
    expect(page.body).toContain('&#60;b&#62;ada&#60;/b&#62;');
  });
});

describe('examples/destination/node-http-site.ts', () => {
  let server: HttpsServer;
  let close: () => Promise<void>;

  beforeEach(async () => {
    const listener: { current: RequestListener } = { current: () => undefined };
    server = await listenHttps(tls, listener);
    const site = createNodeSite({ hubUrl: hub.url, siteOrigin: server.url, credential: hub.credential, ca: tls.cert, clock: hub.clock, logger: new RecordingLogger() });
    listener.current = (req, res) => void site.listener(req, res);
    close = site.close;
  });

  afterEach(async () => {
    await close();
    await server.close();
  });

  it('offers a sign-in link, and after the sign-in bounce shows the user', async () => {
    hub.beaconsToAnswer = [];
    const browser = new Browser(tls);
    const anonymous = await browser.get(`${server.url}/`);
    expect(anonymous.body).toContain('<a href="/shared-session/start?prompt=login&amp;return_to=/">Sign in</a>');

    const start = await browser.get(`${server.url}/shared-session/start?prompt=login&return_to=/`);
    expect(new URL(start.headers.location!).searchParams.get('prompt')).toBe('login');
    const page = await browser.get(await bounceSignedIn(browser, start.headers.location!, { email: 'ada@example.org' }));
    expect(page.body).toContain('Signed in as ada@example.org');
  });

  it('takes a beacon through the handler', async () => {
    const browser = new Browser(tls);
    const res = await browser.get(`${server.url}/shared-session/${hub.mint({ audience: server.url, sid: newSid(), sub: 'user-9' })}.gif`);
    expect(res.status).toBe(200);
    expect((await browser.get(`${server.url}/`)).body).toContain('Signed in as user-9');
  });
});
