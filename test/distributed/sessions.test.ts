/**
 * Issue 7, "Correctness across instances": a session created through instance 1 is used,
 * refreshed and revoked through instance 2, and instance 1 then refuses its cookie. Two real hub
 * processes on one Redis (sessions) and one PostgreSQL (users).
 */
import { systemClock } from '../../src/core/clock';
import { parseCookieValue } from '../../src/core/sessions/session';
import { RedisSessionStore } from '../../src/stores/redis/session-store';
import { csrfFrom } from '../support/client';
import { describeDistributed, newClient, sameOrigin, signIn, startHubPair, type HubPair } from './support';

const email = 'ada@example.com';

describeDistributed('one session across two hub instances', () => {
  let pair: HubPair;
  let sessions: RedisSessionStore;

  beforeAll(async () => {
    // The idle deadline may be rewritten every second, so a refresh is visible without a long wait.
    pair = await startHubPair({ TESSERA_SESSION_TOUCH_INTERVAL: '1' });
    await pair.addUser(email);
    sessions = new RedisSessionStore(pair.redis, { clock: systemClock, prefix: pair.env.TESSERA_STORE_PREFIX! });
  }, 60_000);
  afterAll(() => pair?.stop());

  it('is created on instance 1, used and refreshed on instance 2, signed out on instance 2, then refused by instance 1', async () => {
    const [one, two] = pair.hubs;
    const client = newClient();
    const login = await signIn(client, email, one.url);
    expect(login.status).toBe(303);
    const sid = parseCookieValue(client.cookies.get('__Host-tessera'))!.sid;
    const created = (await sessions.get(sid))!;
    expect(created).not.toBeNull();

    // Used through instance 2: the account page is this person's.
    const account = await client.get(`${two.url}/account`);
    expect(account.status).toBe(200);
    expect(account.body).toContain(email);

    // Refreshed through instance 2: once a second has passed, the visit slides the idle deadline.
    await waitForNextSecond(created.lastSeenAt);
    expect((await client.get(`${two.url}/account`)).status).toBe(200);
    const touched = (await sessions.get(sid))!;
    expect(touched.lastSeenAt).toBeGreaterThan(created.lastSeenAt);
    expect(touched.idleExpiresAt).toBeGreaterThan(created.idleExpiresAt);
    expect(touched.absoluteExpiresAt).toBe(created.absoluteExpiresAt);

    // Signed out through instance 2 …
    const cookie = client.cookieHeader();
    const signOut = await client.post(`${two.url}/logout`, { _csrf: csrfFrom(account.body) }, sameOrigin);
    expect(signOut.status).toBe(200);
    expect(await sessions.get(sid)).toBeNull();

    // … and instance 1 refuses the old cookie at once: no account page, the cookie is cleared.
    const afterwards = await fetch(`${one.url}/account`, { headers: { cookie }, redirect: 'manual' });
    expect(afterwards.status).toBe(303);
    expect(afterwards.headers.get('location')).toMatch(/^\/login\b/);
    expect(afterwards.headers.getSetCookie().some((line) => /^__Host-tessera=;/.test(line))).toBe(true);
  }, 60_000);

  it("ends another of one's sessions from the account page of instance 2; instance 1 refuses it", async () => {
    const [one, two] = pair.hubs;
    const laptop = newClient();
    const phone = newClient();
    await signIn(laptop, email, one.url);
    await signIn(phone, email, two.url, one.url);
    const phoneSid = parseCookieValue(phone.cookies.get('__Host-tessera'))!.sid;
    expect((await phone.get(`${one.url}/account`)).status).toBe(200);

    const account = await laptop.get(`${two.url}/account`);
    expect(account.body).toContain(phoneSid);
    const ended = await laptop.post(`${two.url}/account/sessions/end`, { _csrf: csrfFrom(account.body), sid: phoneSid }, sameOrigin);
    expect(ended.status).toBe(303);

    const refused = await phone.get(`${one.url}/account`);
    expect(refused.status).toBe(303);
    expect(refused.headers.get('location')).toMatch(/^\/login\b/);
    expect(await sessions.get(phoneSid)).toBeNull();
    // The laptop's own session lives on, on both instances.
    expect((await laptop.get(`${one.url}/account`)).status).toBe(200);
  }, 60_000);
});

/** Resolves once the wall clock's second is past `seconds` (the hubs run on the system clock). */
async function waitForNextSecond(seconds: number): Promise<void> {
  const wait = (seconds + 1) * 1000 - Date.now() + 20;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
