/**
 * The handoff in a real browser: Debian's Chromium driven by playwright-core against the demo
 * (hub + shop and news on the destination SDK + blog with the hub as receiver), started in this
 * process on free ports over HTTPS, with the demo host names mapped to loopback by
 * `--host-resolver-rules` and the demo certificate accepted by `ignoreHTTPSErrors`.
 *
 * 1. Third-party cookies allowed (profile preference `profile.cookie_controls_mode = 0`): one
 *    login at the hub; the fan-out beacons set every site's cookie, so no visit to a site
 *    bounces; a second view of each page mints nothing (no beacon requests, empty loader.js).
 * 2. Third-party cookies blocked (this Chromium's default; the suite checks that the beacons
 *    really set nothing): signed out, each site bounces at most once and then stops (no loop);
 *    signed in, each site bounces exactly once and shows the user.
 * 3. Logout at the hub: the hub session is gone; the blog (hub as receiver, reading the shared
 *    store) shows signed out after at most one bounce; the SDK sites, whose cookies are still in
 *    the browser, show signed out too (back-channel logout from the outbox, and the signed-out
 *    page's front-channel beacons, ended their own sessions); and an SDK site whose own session
 *    is gone cannot get the ended session back — its bounce returns `login_required`.
 *
 * Without Chromium the suite is skipped with one line; with CI=true it fails instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page, Request, Response } from 'playwright-core';
import { startDemo, type RunningDemo } from '../../src/demo/start';
import type { DemoSiteName } from '../../src/demo/sites';
import { describeWithChromium, launchChromium, requireChromium } from '../support/chromium';

const describeWithBrowser = describeWithChromium('browser end-to-end suite');

const siteNames: readonly DemoSiteName[] = ['shop', 'news', 'blog'];
const beaconPath = /\/shared-session\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.(?:js|gif)$/;
const browserTimeoutMs = 90_000;

/** What happened during one top-level visit. */
interface Visit {
  /** Every request the page made, redirects and sub-resources included. */
  requests: Request[];
  /** Bodies of the loader.js answers. */
  loaderBodies: string[];
  finalUrl: string;
  state: string | null;
  who: string | null;
  src: string | null;
}

/** A fresh Chromium profile and one page, logging every request. */
class Browser {
  private readonly log: Request[] = [];
  private readonly loaders: Promise<string>[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    page.on('request', (request) => this.log.push(request));
    page.on('response', (response: Response) => {
      if (new URL(response.url()).pathname === '/shared-session/loader.js') this.loaders.push(response.text());
    });
  }

  /**
   * `thirdPartyCookies: 'allowed'` writes `profile.cookie_controls_mode = 0` into the new
   * profile's Preferences before launch; `'default'` leaves Chromium's default (blocked).
   */
  static async open(profileDir: string, thirdPartyCookies: 'allowed' | 'default'): Promise<Browser> {
    const context = await launchChromium(profileDir, thirdPartyCookies);
    const page = context.pages()[0] ?? (await context.newPage());
    return new Browser(context, page);
  }

  /** Runs `action` and returns the requests it caused. */
  async during(action: () => Promise<unknown>): Promise<{ requests: Request[]; loaderBodies: string[] }> {
    const from = this.log.length;
    const loadersFrom = this.loaders.length;
    await action();
    return { requests: this.log.slice(from), loaderBodies: await Promise.all(this.loaders.slice(loadersFrom)) };
  }

  /** Opens `url` and waits for the page (and every beacon its loader injected) to load. */
  async visit(url: string): Promise<Visit> {
    const { requests, loaderBodies } = await this.during(() => this.page.goto(url, { waitUntil: 'load' }));
    const text = async (selector: string) => ((await this.page.locator(selector).count()) > 0 ? await this.page.locator(selector).textContent() : null);
    return {
      requests,
      loaderBodies,
      finalUrl: this.page.url(),
      state: await this.page.getAttribute('#session', 'data-state'),
      who: await text('#who'),
      src: await text('#src'),
    };
  }

  async logIn(demo: RunningDemo): Promise<Request[]> {
    await this.page.goto(`${demo.hubUrl}/login`);
    return this.fillLoginForm(demo, `${demo.hubUrl}/account`);
  }

  /** Fills the hub's password form on the current page and waits until the browser reaches `destination`. */
  async fillLoginForm(demo: RunningDemo, destination: string | RegExp): Promise<Request[]> {
    await this.page.fill('#pw-email', demo.user.email);
    await this.page.fill('#pw-password', demo.user.password);
    const { requests } = await this.during(() => Promise.all([this.page.waitForURL(destination), this.page.click('form[action="/login"] button[type="submit"]')]));
    return requests;
  }

  async logOut(demo: RunningDemo): Promise<void> {
    await this.page.goto(`${demo.hubUrl}/logout`);
    await Promise.all([this.page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${demo.hubUrl}/logout`), this.page.click('form[action="/logout"] button[type="submit"]')]);
    await this.page.waitForLoadState('load');
  }

  /** Session cookies the browser holds for a demo site (names only). */
  async cookieNames(origin: string): Promise<string[]> {
    return (await this.context.cookies(origin)).map((cookie) => cookie.name);
  }

  close(): Promise<void> {
    return this.context.close();
  }
}

/** Requests of a visit that went through the hub's bounce endpoint. */
function bounces(visit: { requests: Request[] }, demo: RunningDemo): Request[] {
  return visit.requests.filter((r) => r.url().startsWith(`${demo.hubUrl}/handoff?`));
}

function starts(visit: { requests: Request[] }): Request[] {
  return visit.requests.filter((r) => new URL(r.url()).pathname === '/shared-session/start');
}

function beacons(visit: { requests: Request[] }): Request[] {
  return visit.requests.filter((r) => beaconPath.test(new URL(r.url()).pathname));
}

function topLevelNavigations(visit: { requests: Request[] }, page: Page): Request[] {
  return visit.requests.filter((r) => r.isNavigationRequest() && r.frame() === page.mainFrame());
}

describeWithBrowser('handoff in a real browser (Chromium)', () => {
  let demo: RunningDemo;
  let dir: string;
  let profiles = 0;
  const open: Browser[] = [];

  beforeAll(async () => {
    requireChromium();
    dir = mkdtempSync(join(tmpdir(), 'tessera-e2e-'));
    demo = await startDemo({ dataDir: join(dir, 'data'), keysDir: join(dir, 'keys'), ports: { hub: 0, shop: 0, news: 0, blog: 0 }, logLevel: 'silent' });
  }, browserTimeoutMs);

  afterEach(async () => {
    await Promise.all(open.splice(0).map((browser) => browser.close()));
  });

  afterAll(async () => {
    await demo?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function browser(thirdPartyCookies: 'allowed' | 'default'): Promise<Browser> {
    profiles += 1;
    const opened = await Browser.open(join(dir, `profile-${profiles}`), thirdPartyCookies);
    open.push(opened);
    return opened;
  }

  const hubHost = () => new URL(demo.hubUrl).host;

  it(
    'third-party cookies allowed: one login at the hub signs every site in by beacons, without a bounce; warm pages mint nothing',
    async () => {
      const b = await browser('allowed');
      const login = await b.logIn(demo);
      // The fan-out page after the login carried one beacon per site.
      expect(beacons({ requests: login }).map((r) => new URL(r.url()).origin).sort()).toEqual(siteNames.map((name) => demo.sites[name]).sort());
      for (const name of siteNames) expect(await b.cookieNames(demo.sites[name])).toContain(demo.cookieNames[name]);

      for (const name of siteNames) {
        const first = await b.visit(`${demo.sites[name]}/`);
        expect({ site: name, state: first.state, who: first.who, src: first.src }).toEqual({ site: name, state: 'signed-in', who: 'Demo User', src: hubHost() });
        expect(first.finalUrl).toBe(`${demo.sites[name]}/`);
        expect(bounces(first, demo)).toHaveLength(0);
        expect(starts(first)).toHaveLength(0);
        expect(topLevelNavigations(first, b.page)).toHaveLength(1);
      }

      for (const name of siteNames) {
        const second = await b.visit(`${demo.sites[name]}/`);
        expect(second.state).toBe('signed-in');
        expect(beacons(second)).toHaveLength(0);
        expect(second.loaderBodies).toEqual(['']);
      }
    },
    browserTimeoutMs,
  );

  it(
    'third-party cookies blocked, signed out: each site bounces at most once, then stops (no redirect loop)',
    async () => {
      const b = await browser('default');
      for (const name of siteNames) {
        const first = await b.visit(`${demo.sites[name]}/`);
        expect({ site: name, state: first.state }).toEqual({ site: name, state: 'signed-out' });
        expect(bounces(first, demo)).toHaveLength(1);
        expect(topLevelNavigations(first, b.page).length).toBeLessThanOrEqual(5);

        // login_required is remembered: the next visits do not go to the hub at all.
        const again = await b.visit(`${demo.sites[name]}/`);
        expect(again.state).toBe('signed-out');
        expect(bounces(again, demo)).toHaveLength(0);
        expect(topLevelNavigations(again, b.page).length).toBeLessThanOrEqual(3);
      }

      // "Sign in" (prompt=login) still works after the hold: the hub asks to log in, and the
      // browser comes back to the site signed in.
      await b.visit(`${demo.sites.news}/`);
      await Promise.all([b.page.waitForURL(`${demo.hubUrl}/login?**`), b.page.click('#sign-in')]);
      await b.fillLoginForm(demo, `${demo.sites.news}/`);
      expect(await b.page.getAttribute('#session', 'data-state')).toBe('signed-in');
      expect(await b.page.locator('#who').textContent()).toBe('Demo User');
    },
    browserTimeoutMs,
  );

  it(
    'third-party cookies blocked, signed in at the hub: beacons set nothing, and each site bounces once and shows the user',
    async () => {
      const b = await browser('default');
      const login = await b.logIn(demo);
      expect(beacons({ requests: login })).toHaveLength(siteNames.length);
      // The premise of this scenario: Chromium's default here blocks the beacons' cookies.
      for (const name of siteNames) expect({ site: name, cookies: await b.cookieNames(demo.sites[name]) }).toEqual({ site: name, cookies: [] });

      for (const name of siteNames) {
        const first = await b.visit(`${demo.sites[name]}/`);
        expect({ site: name, state: first.state, who: first.who, src: first.src }).toEqual({ site: name, state: 'signed-in', who: 'Demo User', src: hubHost() });
        expect(bounces(first, demo)).toHaveLength(1);
        expect(new URL(first.finalUrl).origin).toBe(demo.sites[name]);

        const second = await b.visit(`${demo.sites[name]}/`);
        expect(second.state).toBe('signed-in');
        expect(bounces(second, demo)).toHaveLength(0);
      }
    },
    browserTimeoutMs,
  );

  it(
    'logout at the hub: the hub-as-receiver site is signed out, and no SDK site can get the ended session back',
    async () => {
      const b = await browser('allowed');
      await b.logIn(demo);
      for (const name of siteNames) expect((await b.visit(`${demo.sites[name]}/`)).state).toBe('signed-in');

      await b.logOut(demo);
      await b.page.goto(`${demo.hubUrl}/account`);
      expect(new URL(b.page.url()).pathname).toBe('/login');

      // The blog reads the shared store through the hub: the session is gone there at once.
      const blog = await b.visit(`${demo.sites.blog}/`);
      expect(blog.state).toBe('signed-out');
      expect(bounces(blog, demo).length).toBeLessThanOrEqual(1);

      // The SDK sites' own sessions were ended by the hub's logout: by the back-channel token
      // (server side, whatever the browser still sends) and, when the signed-out page's
      // front-channel beacon got there first, by clearing the cookie too. Either way: signed out.
      for (const name of ['shop', 'news'] as const) {
        const visit = await b.visit(`${demo.sites[name]}/`);
        expect({ site: name, state: visit.state }).toEqual({ site: name, state: 'signed-out' });
      }

      // An SDK site without its own session (cookies gone) bounces to the hub, which answers
      // login_required: the ended session is never handed out again.
      for (const name of ['shop', 'news'] as const) {
        await b.context.clearCookies({ domain: new URL(demo.sites[name]).hostname });
        const visit = await b.visit(`${demo.sites[name]}/`);
        expect({ site: name, state: visit.state }).toEqual({ site: name, state: 'signed-out' });
        expect(bounces(visit, demo)).toHaveLength(1);
      }
    },
    browserTimeoutMs,
  );
});
