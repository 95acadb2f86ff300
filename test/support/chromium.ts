/**
 * Debian's Chromium for the browser suites, driven by playwright-core. Without it a suite is
 * skipped with one line; with CI=true it fails instead (.ci/run installs it).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const chromiumPath = process.env.TESSERA_TEST_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
const inCi = process.env.CI === 'true';

/** `describe` when Chromium can run (or must: CI), `describe.skip` with one line otherwise. */
export function describeWithChromium(suite: string): jest.Describe {
  if (!haveChromium && !inCi) {
    process.stderr.write(`SKIPPED: ${suite} — no Chromium at ${chromiumPath} (apt-get install chromium, or set TESSERA_TEST_CHROMIUM)\n`);
    return describe.skip;
  }
  return describe;
}

/** For a suite's beforeAll: in CI a missing Chromium is a failure, not a skip. */
export function requireChromium(): void {
  if (!haveChromium) throw new Error(`CI=true and no Chromium at ${chromiumPath}: the browser suite must run in CI (.ci/run installs Debian's chromium)`);
}

/**
 * A fresh headless profile in `profileDir`, with `*.localhost` mapped to loopback and the demo's
 * certificate errors ignored. `allowed` writes `profile.cookie_controls_mode = 0` first, so
 * third-party cookies are allowed; `default` keeps Chromium's default (blocked here).
 */
export function launchChromium(profileDir: string, thirdPartyCookies: 'allowed' | 'default'): Promise<BrowserContext> {
  if (thirdPartyCookies === 'allowed') {
    mkdirSync(join(profileDir, 'Default'), { recursive: true });
    writeFileSync(join(profileDir, 'Default', 'Preferences'), JSON.stringify({ profile: { cookie_controls_mode: 0 } }));
  }
  return chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumPath,
    ignoreHTTPSErrors: true,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP *.localhost 127.0.0.1',
    ],
  });
}
