/**
 * Two-step sign-in (TOTP) against a real server with a cookie-keeping client: turning it on
 * from the account page, signing in with a code or a recovery code after a password or an
 * e-mail link, and everything that must not sign anyone in (wrong, replayed or spent codes, an
 * expired or forged pending sign-in, too many attempts).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { generate } from 'otplib';
import { nowSeconds } from '../../src/core/clock';
import { signCompactJws } from '../../src/core/tokens/compact-jws';
import { createSessionRecord, formatCookieValue, parseCookieValue } from '../../src/core/sessions/session';
import { TWO_STEP_TYP } from '../../src/hub/login/two-step';
import { hashLinkToken } from '../../src/hub/routes/login-email';
import type { UserRecord } from '../../src/ports';
import { hashPassword } from '../../src/users/password';
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, type TestHub } from '../support/hub';
import { Keyring } from '../../src/core/keys/keyring';
import { MemoryKeyStore } from '../../src/stores/memory/key-store';

const hubOrigin = 'https://hub.example.com';
const sameOrigin = { origin: hubOrigin, 'sec-fetch-site': 'same-origin' };
const password = 'correct horse battery staple';

const hidden = (body: string, name: string): string => new RegExp(`name="${name}" value="([^"]*)"`).exec(body)![1]!;
const sidOf = (client: CookieClient) => parseCookieValue(client.cookies.get('__Host-tessera'))?.sid ?? null;

describe('two-step sign-in', () => {
  let hub: TestHub;
  let ada: UserRecord;
  beforeEach(async () => {
    hub = await startTestHub();
    ada = await hub.deps.users.create({ email: 'ada@example.com', passwordHash: await hashPassword(password) });
  });
  afterEach(() => hub.close());

  const codeAt = (secret: string, offsetSeconds = 0) => generate({ secret, epoch: nowSeconds(hub.clock) + offsetSeconds });

  /** A client through the password step: signed in, or (two-step on) holding the pending sign-in. */
  async function passwordStep(email = 'ada@example.com'): Promise<{ client: CookieClient; res: Awaited<ReturnType<CookieClient['post']>> }> {
    const client = new CookieClient(hub.url, { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' });
    const page = await client.get('/login');
    const res = await client.post('/login', { _csrf: csrfFrom(page.body), email, password }, sameOrigin);
    return { client, res };
  }

  /** Turns two-step sign-in on for Ada from a fresh sign-in; resolves to the secret and recovery codes. */
  async function enrol(): Promise<{ client: CookieClient; secret: string; codes: string[] }> {
    const { client } = await passwordStep();
    const page = await client.get('/account/two-step');
    const secret = hidden(page.body, 'secret');
    const res = await client.post('/account/two-step/enable', { _csrf: csrfFrom(page.body), secret, code: await codeAt(secret), current_password: password }, sameOrigin);
    expect(res.status).toBe(200);
    const codes = [...res.body.matchAll(/<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})<\/code><\/li>/g)].map((m) => m[1]!);
    return { client, secret, codes };
  }

  async function submitCode(client: CookieClient, code: string) {
    const page = await client.get('/login/code');
    expect(page.status).toBe(200);
    return client.post('/login/code', { _csrf: csrfFrom(page.body), code }, sameOrigin);
  }

  describe('turning it on', () => {
    it('shows a QR code and the key, stores nothing until a code and the password prove it, then shows ten recovery codes once', async () => {
      const { client } = await passwordStep();
      const other = await passwordStep();
      const page = await client.get('/account/two-step');
      expect(page.status).toBe(200);
      expect(page.body).toMatch(/<figure class="qr" aria-label="QR code of the key"><svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      const secret = hidden(page.body, 'secret');
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(await hub.deps.users.totpState(ada.id)).toBeNull();
      const csrf = csrfFrom(page.body);

      const wrongCode = await client.post('/account/two-step/enable', { _csrf: csrf, secret, code: '000000', current_password: password }, sameOrigin);
      expect(wrongCode.status).toBe(401);
      expect(hidden(wrongCode.body, 'secret')).toBe(secret);
      const wrongPassword = await client.post('/account/two-step/enable', { _csrf: csrf, secret, code: await codeAt(secret), current_password: 'not the password' }, sameOrigin);
      expect(wrongPassword.status).toBe(403);
      const noToken = await client.post('/account/two-step/enable', { secret, code: await codeAt(secret), current_password: password }, sameOrigin);
      expect(noToken.status).toBe(403);
      expect(await hub.deps.users.totpState(ada.id)).toBeNull();
      expect((await hub.deps.users.findById(ada.id))!.totpEnabledAt).toBeNull();

      const res = await client.post('/account/two-step/enable', { _csrf: csrf, secret, code: await codeAt(secret), current_password: password }, sameOrigin);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const codes = [...res.body.matchAll(/<li><code>([a-z2-7-]+)<\/code><\/li>/g)].map((m) => m[1]!);
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      const state = (await hub.deps.users.totpState(ada.id))!;
      expect(state.secret).toBe(secret);
      expect(state.recoveryCodeHashes).toHaveLength(10);
      expect(state.recoveryCodeHashes.join()).not.toContain(codes[0]!.replace(/-/g, ''));
      expect((await hub.deps.users.findById(ada.id))!.totpEnabledAt).toBe(nowSeconds(hub.clock));
      // This session stays; the other one, opened with the password alone, ends.
      expect(await hub.deps.sessions.get(sidOf(client)!)).not.toBeNull();
      expect(await hub.deps.sessions.get(sidOf(other.client)!)).toBeNull();
      const [event] = (await hub.deps.audit.query({ type: 'user.updated' }, { limit: 5 })).items;
      expect(event!.details).toEqual({ change: 'two-step-on', endedSessions: 1 });
      for (let i = 0; i < 50 && readdirSync(hub.mailDir).filter((f) => f.endsWith('.eml')).length === 0; i += 1) await new Promise((r) => setTimeout(r, 20));
      expect(readdirSync(hub.mailDir).filter((f) => f.endsWith('.eml'))).toHaveLength(1);
      expect((await client.get('/account/two-step')).body).toContain('Two-step sign-in is on');
    });

    it('asks an account without a password for a recent sign-in instead', async () => {
      const lin = await hub.deps.users.create({ email: 'lin@example.com' });
      const made = createSessionRecord({ userId: lin.id, ip: null, userAgent: null, now: nowSeconds(hub.clock) }, hub.deps.config.sessions);
      await hub.deps.sessions.create(made.record);
      const client = new CookieClient(hub.url);
      client.cookies.set('__Host-tessera', formatCookieValue(made.record.sid, made.secret));
      const page = await client.get('/account/two-step');
      const secret = hidden(page.body, 'secret');
      expect(page.body).not.toContain('name="current_password"');
      hub.clock.advance(11 * 60_000);
      const late = await client.post('/account/two-step/enable', { _csrf: csrfFrom(page.body), secret, code: await codeAt(secret) }, sameOrigin);
      expect(late.status).toBe(403);
      expect(await hub.deps.users.totpState(lin.id)).toBeNull();
      expect((await client.get('/account/two-step')).body).toContain('To turn on two-step sign-in, sign in again first');
    });
  });

  describe('signing in', () => {
    it('holds a password sign-in for the code: no session until a valid code, then the code works only once', async () => {
      const { secret } = await enrol();
      hub.clock.advance(30_000);
      const { client, res } = await passwordStep();
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/login/code');
      expect(client.cookies.has('__Host-tessera')).toBe(false);
      const pending = res.setCookies.find((c) => c.startsWith('__Host-tessera-2step='))!;
      expect(pending).toMatch(/; Path=\/; Max-Age=300; HttpOnly; Secure; SameSite=Lax$/);
      expect((await client.get('/account')).status).toBe(303);

      const wrong = await submitCode(client, '123456' === (await codeAt(secret)) ? '654321' : '123456');
      expect(wrong.status).toBe(401);
      expect(wrong.body).toContain('That code is not right');
      expect(client.cookies.has('__Host-tessera')).toBe(false);

      const code = await codeAt(secret);
      const ok = await submitCode(client, code);
      expect(ok.status).toBe(303);
      expect(ok.headers.get('location')).toBe(`${hubOrigin}/account`);
      expect(client.cookies.has('__Host-tessera-2step')).toBe(false);
      expect((await hub.deps.sessions.get(sidOf(client)!))!.userId).toBe(ada.id);
      const success = (await hub.deps.audit.query({ type: 'login.success' }, { limit: 1 })).items[0]!;
      expect(success.details).toEqual({ method: 'password', secondFactor: 'totp' });

      // The same code again, from another browser within its 30 seconds: refused.
      const second = await passwordStep();
      expect((await submitCode(second.client, code)).status).toBe(401);
      expect(second.client.cookies.has('__Host-tessera')).toBe(false);
    });

    it('takes a recovery code once, whatever its case and dashes', async () => {
      const { codes } = await enrol();
      const first = await passwordStep();
      expect((await submitCode(first.client, codes[3]!.toUpperCase().replace(/-/g, ' '))).status).toBe(303);
      const again = await passwordStep();
      expect((await submitCode(again.client, codes[3]!)).status).toBe(401);
      expect((await hub.deps.users.totpState(ada.id))!.recoveryCodeHashes).toHaveLength(9);
    });

    it('holds an e-mail link sign-in for the code too', async () => {
      const { secret } = await enrol();
      hub.clock.advance(30_000);
      const token = randomBytes(32).toString('base64url');
      await hub.deps.users.createMagicLink({ tokenHash: hashLinkToken(token), userId: ada.id, email: ada.email, expiresAt: nowSeconds(hub.clock) + 600, returnTo: null });
      const client = new CookieClient(hub.url);
      const landing = await client.get(`/login/link?token=${token}`);
      const res = await client.post('/login/link', { _csrf: csrfFrom(landing.body), token }, sameOrigin);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/login/code');
      expect(client.cookies.has('__Host-tessera')).toBe(false);
      expect((await submitCode(client, await codeAt(secret))).status).toBe(303);
      const success = (await hub.deps.audit.query({ type: 'login.success' }, { limit: 1 })).items[0]!;
      expect(success.details).toEqual({ method: 'magic-link', secondFactor: 'totp' });
    });

    it('sends an expired, forged or missing pending sign-in back to the login page, signing nobody in', async () => {
      const { secret } = await enrol();
      hub.clock.advance(30_000);
      const late = await passwordStep();
      const csrf = csrfFrom((await late.client.get('/login/code')).body);
      hub.clock.advance(301_000);
      const expired = await late.client.post('/login/code', { _csrf: csrf, code: await codeAt(secret) }, sameOrigin);
      expect(expired.status).toBe(303);
      expect(expired.headers.get('location')).toBe('/login');
      expect(late.client.cookies.has('__Host-tessera')).toBe(false);

      // A pending sign-in signed with a key that is not the hub's.
      const otherKeys = await Keyring.open(new MemoryKeyStore(), { algorithm: 'RS256', clock: hub.clock, maxTokenTtlSeconds: 60, jwksMaxAgeSeconds: 60 });
      const now = nowSeconds(hub.clock);
      const forged = signCompactJws({ iss: hubOrigin, aud: hubOrigin, sub: ada.id, iat: now, exp: now + 300, amr: 'password', rem: false, rt: null }, otherKeys.signingKey(), TWO_STEP_TYP);
      const mallory = new CookieClient(hub.url);
      mallory.cookies.set('__Host-tessera-2step', forged);
      expect((await mallory.get('/login/code')).headers.get('location')).toBe('/login');
      const res = await mallory.post('/login/code', { _csrf: csrfFrom((await mallory.get('/login')).body), code: await codeAt(secret) }, sameOrigin);
      expect(res.status).toBe(303);
      expect(mallory.cookies.has('__Host-tessera')).toBe(false);
      expect((await new CookieClient(hub.url).get('/login/code')).headers.get('location')).toBe('/login');
    });

    it('counts code attempts against the account login limit: 429 with Retry-After', async () => {
      await enrol();
      const { client } = await passwordStep();
      const limit = hub.deps.config.login.accountLimit;
      let last = await submitCode(client, '000000');
      for (let i = 1; i < limit + 1 && last.status === 401; i += 1) last = await submitCode(client, '000000');
      expect(last.status).toBe(429);
      expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(client.cookies.has('__Host-tessera')).toBe(false);
    });

    it('does not give code guesses a fresh account budget when the password is entered again', async () => {
      await enrol();
      const limit = hub.deps.config.login.accountLimit;
      let wrongCodes = 0;
      let limited = false;
      for (let round = 0; round < 3 && !limited; round += 1) {
        const { client, res } = await passwordStep();
        if (res.status === 429) limited = true;
        for (let i = 0; i < limit - 1 && !limited; i += 1) {
          const answer = await submitCode(client, '000000');
          if (answer.status === 429) limited = true;
          else wrongCodes += 1;
        }
      }
      expect(limited).toBe(true);
      expect(wrongCodes).toBeLessThan(limit);
    });
  });

  describe('managing it', () => {
    it('makes new recovery codes (the old stop working) and turns it off, each only with a valid code', async () => {
      const { client, secret, codes } = await enrol();
      const page = await client.get('/account/two-step');
      const csrf = csrfFrom(page.body);
      expect((await client.post('/account/two-step/recovery-codes', { _csrf: csrf, code: '000000' }, sameOrigin)).status).toBe(401);
      const renewed = await client.post('/account/two-step/recovery-codes', { _csrf: csrf, code: codes[0]! }, sameOrigin);
      expect(renewed.status).toBe(200);
      const fresh = [...renewed.body.matchAll(/<li><code>([a-z2-7-]+)<\/code><\/li>/g)].map((m) => m[1]!);
      expect(fresh).toHaveLength(10);
      const state = (await hub.deps.users.totpState(ada.id))!;
      expect(state.recoveryCodeHashes).toHaveLength(10);
      // An old code no longer turns it off; a code from the app does.
      expect((await client.post('/account/two-step/disable', { _csrf: csrf, code: codes[1]! }, sameOrigin)).status).toBe(401);
      expect((await hub.deps.users.findById(ada.id))!.totpEnabledAt).not.toBeNull();
      hub.clock.advance(30_000);
      const off = await client.post('/account/two-step/disable', { _csrf: csrf, code: await codeAt(secret) }, sameOrigin);
      expect(off.status).toBe(303);
      expect(off.headers.get('location')).toBe('/account?two-step=off');
      expect(await hub.deps.users.totpState(ada.id)).toBeNull();
      // Signing in needs the password alone again.
      expect((await passwordStep()).client.cookies.has('__Host-tessera')).toBe(true);
      const changes = (await hub.deps.audit.query({ type: 'user.updated' }, { limit: 5 })).items.map((e) => e.details.change);
      expect(changes).toEqual(['two-step-off', 'recovery-codes', 'two-step-on']);
    });
  });
});
