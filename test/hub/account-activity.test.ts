/**
 * `GET /account/activity`: a person's own recent security events from the audit log, against a
 * real server with a cookie-keeping client.
 */
import { hashPassword } from '../../src/users/password';
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, type TestHub } from '../support/hub';

const sameOrigin = { origin: 'https://hub.example.com', 'sec-fetch-site': 'same-origin' };
const password = 'correct horse battery staple';

async function attempt(hub: TestHub, email: string, pw: string): Promise<CookieClient> {
  const client = new CookieClient(hub.url);
  const page = await client.get('/login');
  await client.post('/login', { _csrf: csrfFrom(page.body), email, password: pw }, sameOrigin);
  return client;
}

/** The rows of the activity table: [what, address]. */
function rows(body: string): string[][] {
  return [...body.matchAll(/<tr><td>[^<]*<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><\/tr>/g)].map((m) => [m[1]!, m[2]!]);
}

describe('recent activity on the account page', () => {
  let hub: TestHub;
  beforeEach(async () => {
    hub = await startTestHub();
    const passwordHash = await hashPassword(password);
    await hub.deps.users.create({ email: 'ada@example.com', passwordHash });
    await hub.deps.users.create({ email: 'bob@example.com', passwordHash });
  });
  afterEach(() => hub.close());

  it("lists the person's own sign-ins, failed attempts, password changes and ended sessions, newest first", async () => {
    await attempt(hub, 'ada@example.com', 'not the password');
    await attempt(hub, 'bob@example.com', password);
    const elsewhere = await attempt(hub, 'ada@example.com', password);
    hub.clock.advance(1000);
    const here = await attempt(hub, 'ada@example.com', password);
    hub.clock.advance(1000);
    const form = await here.get('/account/password');
    const changed = await here.post('/account/password', { _csrf: csrfFrom(form.body), current_password: password, new_password: 'another long passphrase', confirm_password: 'another long passphrase' }, sameOrigin);
    expect(changed.status).toBe(303);
    expect(elsewhere.cookies.size).toBeGreaterThan(0);

    const account = await here.get('/account');
    expect(account.body).toContain('<a href="/account/activity">Recent activity</a>');
    const page = await here.get('/account/activity');
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const what = rows(page.body).map(([text]) => text);
    expect(what).toEqual([
      'Password changed',
      'A session ended: your password changed',
      'Signed in (password)',
      'Signed in (password)',
      'Failed sign-in attempt (password)',
    ]);
    // A revocation has no client address of its own; everything else happened from here.
    const loopback = (ip: string) => ip === '127.0.0.1' || ip === '::ffff:127.0.0.1';
    expect(rows(page.body).map(([text, ip]) => (text!.startsWith('A session ended') ? ip === '-' : loopback(ip!)))).toEqual([true, true, true, true, true]);
  });

  it('shows nothing of other people, and sends a visitor who is not signed in to the login page', async () => {
    await attempt(hub, 'bob@example.com', 'wrong password!!');
    const ada = await attempt(hub, 'ada@example.com', password);
    expect(rows((await ada.get('/account/activity')).body).map(([text]) => text)).toEqual(['Signed in (password)']);
    const stranger = await new CookieClient(hub.url).get('/account/activity');
    expect(stranger.status).toBe(303);
    expect(stranger.headers.get('location')).toBe('/login?return_to=%2Faccount%2Factivity');
  });
});
