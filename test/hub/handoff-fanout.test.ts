/**
 * The page after a login at a hub with sites: one beacon per site not holding the new session,
 * each carrying the page's CSP nonce, then on to return_to; and the beacons work against the
 * hub-as-receiver, after which the account page lists the site.
 */
import { parseCookieValue } from '../../src/core/sessions/session';
import { hashPassword } from '../../src/users/password';
import { csrfFrom } from '../support/client';
import { startTestHub } from '../support/hub';
import { BLOG, Browser, HUB, HUB_HOST, SHOP, SHOP_HOST, WWW, payloadOf, startHandoffHub, type HandoffHub } from './handoff-support';

const password = 'correct horse battery staple';

describe('fan-out after login', () => {
  let hub: HandoffHub;
  beforeAll(async () => {
    hub = await startHandoffHub({ TESSERA_HANDOFF_FAN_OUT_TIMEOUT: '2500' });
    await hub.deps.users.create({ email: 'fan@example.com', name: 'Fan', passwordHash: await hashPassword(password) });
  });
  afterAll(() => hub.close());

  async function logIn(returnTo: string) {
    const browser = new Browser(hub.url);
    const page = await browser.get(hub.ownHost, '/login');
    const res = await browser.request(hub.ownHost, 'POST', '/login', {
      form: { _csrf: csrfFrom(page.body), email: 'fan@example.com', password, return_to: returnTo },
      headers: { origin: HUB, 'sec-fetch-site': 'same-origin' },
    });
    return { browser, res };
  }

  it('answers a page with one beacon per site, each with the nonce, that continues to return_to', async () => {
    const { browser, res } = await logIn(`${WWW}/welcome`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const sid = parseCookieValue(browser.jar(hub.ownHost).get('__Host-tessera'))!.sid;
    const csp = res.headers['content-security-policy'] as string;
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    expect(csp).toMatch(/script-src 'nonce-[^']+' https:\/\/shop\.example\.net https:\/\/www\.example\.org https:\/\/blog\.example\.com;/);

    const scripts = [...res.body.matchAll(/<script async src="([^"]+)" referrerpolicy="origin" nonce="([^"]+)"><\/script>/g)];
    const images = [...res.body.matchAll(/<img src="([^"]+)" width="1" height="1" alt="" hidden referrerpolicy="origin">/g)];
    expect(scripts.map((m) => new URL(m[1]!).origin)).toEqual([SHOP, WWW]);
    expect(scripts.every((m) => m[2] === nonce)).toBe(true);
    expect(images.map((m) => new URL(m[1]!).origin)).toEqual([BLOG]);
    expect(new URL(images[0]![1]!).pathname).toMatch(/^\/sso\/.+\.gif$/);
    for (const url of [...scripts, ...images].map((m) => m[1]!)) {
      const token = /\/([^/]+)\.(?:js|gif)$/.exec(url)![1]!;
      expect(payloadOf(token)).toMatchObject({ aud: new URL(url).origin, src: HUB_HOST, sid });
    }
    expect(res.body).toContain(`<script nonce="${nonce}">(function(){var done=false;function go(){if(!done){done=true;location.replace("https://www.example.org/welcome");}}window.addEventListener('load',go);setTimeout(go,2500);})();</script>`);
    expect(res.body).toContain('<a href="https://www.example.org/welcome">Continue</a>');
  });

  it('falls back to the account page for a foreign return_to, and escapes it for the script', async () => {
    const { res } = await logIn('https://evil.example/</script>');
    expect(res.body).toContain('location.replace("https://hub.example.com/account")');
    // WHATWG parsing percent-encodes < and >; & survives and is escaped for each context.
    const { res: odd } = await logIn(`${SHOP}/a?q=</script><b>&x=1`);
    expect(odd.body).toContain('location.replace("https://shop.example.net/a?q=%3C/script%3E%3Cb%3E\\u0026x=1")');
    expect(odd.body).toContain('<a href="https://shop.example.net/a?q=%3C/script%3E%3Cb%3E&amp;x=1">Continue</a>');
    expect(odd.body).not.toContain('</script><b>');
  });

  it('beacons from the page set the site cookie on the hub-as-receiver, and the account page lists the site', async () => {
    const { browser, res } = await logIn(`${HUB}/account`);
    const shopUrl = new URL(/<script async src="(https:\/\/shop\.example\.net[^"]+)"/.exec(res.body)![1]!);
    const beacon = await browser.get(SHOP_HOST, shopUrl.pathname, { referer: `${HUB}/` });
    expect(beacon.status).toBe(200);
    expect(browser.jar(SHOP_HOST).has('tessera_session')).toBe(true);
    const account = await browser.get(hub.ownHost, '/account');
    expect(account.body).toContain('shop.example.net');
  });
});

describe('login without sites', () => {
  it('keeps the 303 to return_to', async () => {
    const hub = await startTestHub();
    try {
      await hub.deps.users.create({ email: 'plain@example.com', passwordHash: await hashPassword(password) });
      const browser = new Browser(hub.url);
      const host = new URL(hub.url).host;
      const page = await browser.get(host, '/login');
      const res = await browser.request(host, 'POST', '/login', { form: { _csrf: csrfFrom(page.body), email: 'plain@example.com', password }, headers: { origin: 'https://hub.example.com', 'sec-fetch-site': 'same-origin' } });
      expect(res.status).toBe(303);
      expect(res.location).toBe('https://hub.example.com/account');
    } finally {
      await hub.close();
    }
  });
});
