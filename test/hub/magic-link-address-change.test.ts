/**
 * A sign-in link asked for while the account's e-mail address changes. The change drops the
 * pending links (they went to the old address), but a request that looked the account up just
 * before the change stores its link just after, and mails it to the old address: that link
 * must not sign in, since whoever reads the old mailbox may be exactly whom the change was for.
 * The change is made from inside the store call, deterministically.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { nowSeconds } from '../../src/core/clock';
import { hashLinkToken } from '../../src/hub/routes/login-email';
import type { UserRecord } from '../../src/ports';
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, type TestHub } from '../support/hub';
import { runOnce } from '../support/interleave';
import { readMessage } from '../support/smtp';

const sameOrigin = { origin: 'https://hub.example.com', 'sec-fetch-site': 'same-origin' };

describe('a sign-in link racing a change of the e-mail address', () => {
  let hub: TestHub;
  let ada: UserRecord;
  beforeEach(async () => {
    hub = await startTestHub();
    ada = await hub.deps.users.create({ email: 'ada@example.com' });
  });
  afterEach(() => hub.close());

  /** The token of the newest sign-in link mailed to `to`. */
  async function linkTokenSentTo(to: string): Promise<string> {
    for (let i = 0; i < 100; i += 1) {
      const token = readdirSync(hub.mailDir)
        .filter((f) => f.endsWith('.eml'))
        .sort()
        .map((f) => readFileSync(`${hub.mailDir}/${f}`, 'utf8'))
        .filter((raw) => /^To: (.*)$/m.exec(raw)![1]!.trim() === to)
        .map((raw) => /\/login\/link\?token=([A-Za-z0-9_-]{43})/.exec(readMessage(raw).text ?? '')?.[1])
        .filter(Boolean)
        .pop();
      if (token !== undefined) return token;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no sign-in link mailed to ${to}`);
  }

  async function askForLink(client: CookieClient, email: string): Promise<void> {
    const page = await client.get('/login');
    expect((await client.post('/login/email', { _csrf: csrfFrom(page.body), email }, sameOrigin)).status).toBe(200);
  }

  async function useLink(client: CookieClient, token: string) {
    const landing = await client.get(`/login/link?token=${token}`);
    return client.post('/login/link', { _csrf: csrfFrom(landing.body), token }, sameOrigin);
  }

  it('refuses a link stored after the address changed, mailed to the old address', async () => {
    // The confirmation of the change lands after the request looked Ada up, before its link is stored.
    runOnce(hub.deps.users, 'createMagicLink', 'before', () => hub.deps.users.setEmail(ada.id, 'ada@new.example'));
    const stranger = new CookieClient(hub.url);
    await askForLink(stranger, 'ada@example.com');
    const stale = await linkTokenSentTo('ada@example.com');

    // Its landing page says at once that it is not valid, as for a spent link, and offers no
    // button; the GET spends nothing (the link is still pending, only refused).
    const landing = await stranger.get(`/login/link?token=${stale}`);
    expect(landing.status).toBe(400);
    expect(landing.body).toContain('This sign-in link is not valid');
    expect(landing.body).not.toContain('action="/login/link"');
    expect(await hub.deps.users.peekMagicLink(hashLinkToken(stale), nowSeconds(hub.clock))).toMatchObject({ userId: ada.id, email: 'ada@example.com' });

    // Posted anyway, it is refused.
    const res = await stranger.post('/login/link', { _csrf: csrfFrom((await stranger.get('/login')).body), token: stale }, sameOrigin);
    expect(res.status).toBe(400);
    expect(stranger.cookies.has('__Host-tessera')).toBe(false);
    expect(await hub.deps.sessions.listByUser(ada.id)).toEqual([]);

    // A link to the address the account has now still signs in.
    const owner = new CookieClient(hub.url);
    await askForLink(owner, 'ada@new.example');
    expect((await useLink(owner, await linkTokenSentTo('ada@new.example'))).status).toBe(303);
    expect(owner.cookies.has('__Host-tessera')).toBe(true);
  });

  it('shows no button for the link of an account disabled since it was mailed', async () => {
    const client = new CookieClient(hub.url);
    await askForLink(client, 'ada@example.com');
    const token = await linkTokenSentTo('ada@example.com');
    expect((await client.get(`/login/link?token=${token}`)).status).toBe(200);
    await hub.deps.users.setDisabled(ada.id, true);
    const landing = await client.get(`/login/link?token=${token}`);
    expect(landing.status).toBe(400);
    expect(landing.body).not.toContain('action="/login/link"');
  });
});
