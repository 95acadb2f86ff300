/**
 * An admin's "Revoke" in a real browser ends the session on every demo site: Debian's Chromium
 * driven by playwright-core against the demo started in this process (see handoff.e2e.test.ts
 * for the set-up: free ports over HTTPS, host names mapped to loopback, certificate errors
 * ignored). Browser A (third-party cookies allowed) signs in as the demo user and is signed in
 * on shop, news and blog; browser B, a separate profile, signs in as an admin, opens /admin and
 * clicks "Revoke" on A's session (confirming the password when asked). Then A is signed out on
 * every site: the blog reads the shared store, shop and news had their own sessions ended by the
 * back-channel logout, which the outbox delivers shortly after, hence a short poll.
 *
 * Without Chromium the suite is skipped with one line; with CI=true it fails instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { startDemo, type RunningDemo } from '../../src/demo/start';
import type { DemoSiteName } from '../../src/demo/sites';
import { describeWithChromium, launchChromium, requireChromium } from '../support/chromium';

const describeWithBrowser = describeWithChromium('admin revoke browser suite');

const siteNames: readonly DemoSiteName[] = ['shop', 'news', 'blog'];
const adminEmail = 'admin@tessera.localhost';
const browserTimeoutMs = 90_000;
/** How long shop and news may take to receive the back-channel logout. */
const signOutWithinMs = 3_000;

async function logIn(page: Page, demo: RunningDemo, email: string): Promise<void> {
  await page.goto(`${demo.hubUrl}/login`);
  await page.fill('#pw-email', email);
  await page.fill('#pw-password', demo.user.password);
  await Promise.all([page.waitForURL(`${demo.hubUrl}/account`), page.click('form[action="/login"] button[type="submit"]')]);
}

/** The site's `#session` state after loading its home page. */
async function siteState(page: Page, origin: string): Promise<string | null> {
  await page.goto(`${origin}/`, { waitUntil: 'load' });
  return page.getAttribute('#session', 'data-state');
}

describeWithBrowser('admin revoke in a real browser (Chromium)', () => {
  let demo: RunningDemo;
  let dir: string;
  const open: BrowserContext[] = [];

  beforeAll(async () => {
    requireChromium();
    dir = mkdtempSync(join(tmpdir(), 'tessera-e2e-revoke-'));
    demo = await startDemo({ dataDir: join(dir, 'data'), keysDir: join(dir, 'keys'), ports: { hub: 0, shop: 0, news: 0, blog: 0 }, logLevel: 'silent', adminEmail });
  }, browserTimeoutMs);

  afterAll(async () => {
    await Promise.all(open.splice(0).map((context) => context.close()));
    await demo?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function browser(name: string): Promise<Page> {
    const context = await launchChromium(join(dir, `profile-${name}`), 'allowed');
    open.push(context);
    return context.pages()[0] ?? (await context.newPage());
  }

  it(
    "an admin's click on 'Revoke' ends the user's session on every demo site",
    async () => {
      const user = await browser('user');
      await logIn(user, demo, demo.user.email);
      for (const name of siteNames) expect({ site: name, state: await siteState(user, demo.sites[name]) }).toEqual({ site: name, state: 'signed-in' });

      const admin = await browser('admin');
      await logIn(admin, demo, adminEmail);
      await admin.goto(`${demo.hubUrl}/admin?email=${encodeURIComponent(demo.user.email)}`);
      const rows = admin.locator('tr[data-sid]');
      expect(await rows.count()).toBe(1);
      const sid = await rows.getAttribute('data-sid');
      await Promise.all([admin.waitForURL(/\/admin\/sessions\/.+\/revoke$|\/admin\?done=revoked$/), rows.locator('button', { hasText: 'Revoke' }).click()]);
      // A sign-in older than admin.reauthSeconds asks for the password again first.
      if ((await admin.locator('#reauth-password').count()) > 0) {
        await admin.fill('#reauth-password', demo.user.password);
        await Promise.all([admin.waitForURL(`${demo.hubUrl}/admin?done=revoked`), admin.click('form:has(#reauth-password) button[type="submit"]')]);
      }
      expect(admin.url()).toBe(`${demo.hubUrl}/admin?done=revoked`);
      await admin.goto(`${demo.hubUrl}/admin`);
      expect(await admin.locator(`tr[data-sid="${sid}"]`).count()).toBe(0);

      await user.goto(`${demo.hubUrl}/account`);
      expect(new URL(user.url()).pathname).toBe('/login');
      for (const name of siteNames) {
        const deadline = Date.now() + signOutWithinMs;
        let state = await siteState(user, demo.sites[name]);
        while (state !== 'signed-out' && Date.now() < deadline) {
          await user.waitForTimeout(200);
          state = await siteState(user, demo.sites[name]);
        }
        expect({ site: name, state }).toEqual({ site: name, state: 'signed-out' });
      }
    },
    browserTimeoutMs,
  );
});
