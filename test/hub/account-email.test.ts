/**
 * Changing one's e-mail address, against a real server with a cookie-keeping client: the link
 * to the new address, the change on its POST, the notice to the old address, and everything
 * that must change nothing (a wrong password, a taken address, a replayed, expired or foreign
 * link, a GET).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { hashPassword } from '../../src/users/password';
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, type TestHub } from '../support/hub';
import { readMessage } from '../support/smtp';

const hubOrigin = 'https://hub.example.com';
const sameOrigin = { origin: hubOrigin, 'sec-fetch-site': 'same-origin' };
const password = 'correct horse battery staple';

describe('changing the e-mail address', () => {
  let hub: TestHub;
  beforeEach(async () => {
    hub = await startTestHub();
    const passwordHash = await hashPassword(password);
    await hub.deps.users.create({ email: 'ada@example.com', passwordHash });
    await hub.deps.users.create({ email: 'bob@example.com', passwordHash });
  });
  afterEach(() => hub.close());

  async function signIn(email: string, client = new CookieClient(hub.url)): Promise<CookieClient> {
    const page = await client.get('/login');
    expect((await client.post('/login', { _csrf: csrfFrom(page.body), email, password }, sameOrigin)).status).toBe(303);
    return client;
  }

  async function ask(client: CookieClient, fields: Record<string, string>) {
    const page = await client.get('/account/email');
    expect(page.status).toBe(200);
    return client.post('/account/email', { _csrf: csrfFrom(page.body), ...fields }, sameOrigin);
  }

  /** The mails written so far, as { to, subject, text }. */
  async function mails(expected: number) {
    let files: string[] = [];
    for (let i = 0; i < 50 && files.length < expected; i += 1) {
      await new Promise((r) => setTimeout(r, 20));
      files = readdirSync(hub.mailDir).filter((f) => f.endsWith('.eml')).sort();
    }
    return files.map((f) => {
      const raw = readFileSync(`${hub.mailDir}/${f}`, 'utf8');
      return { to: /^To: (.*)$/m.exec(raw)![1]!.trim(), subject: /^Subject: (.*)$/m.exec(raw)![1]!.trim(), text: readMessage(raw).text ?? '' };
    });
  }

  const linkIn = (text: string) => new URL(/https:\/\/hub\.example\.com\/account\/email\/confirm\?token=[A-Za-z0-9_.-]+/.exec(text)![0]);
  const email = async (address: string) => (await hub.deps.users.findByEmail(address))?.email ?? null;

  it('mails a link to the new address; its page changes nothing; its POST changes the address and tells the old one', async () => {
    const ada = await signIn('ada@example.com');
    const asked = await ask(ada, { new_email: 'Ada.Lovelace@example.org', current_password: password });
    expect(asked.status).toBe(200);
    expect(asked.body).toContain('we have sent it a link');
    const [sent] = await mails(1);
    expect(sent!.to).toBe('Ada.Lovelace@example.org');
    expect(sent!.subject).toBe('Confirm your new e-mail address for Tessera');
    const link = linkIn(sent!.text);

    const landing = await ada.get(`${link.pathname}${link.search}`);
    expect(landing.status).toBe(200);
    expect(landing.body).toContain('from <strong>ada@example.com</strong> to <strong>Ada.Lovelace@example.org</strong>');
    expect(await email('ada@example.com')).toBe('ada@example.com');

    const token = link.searchParams.get('token')!;
    const res = await ada.post('/account/email/confirm', { _csrf: csrfFrom(landing.body), token }, sameOrigin);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/account?email=changed');
    expect(await email('ada.lovelace@example.org')).toBe('Ada.Lovelace@example.org');
    expect(await email('ada@example.com')).toBeNull();
    const notice = (await mails(2)).find((m) => m.to === 'ada@example.com')!;
    expect(notice.subject).toBe('The e-mail address of your Tessera account was changed');
    expect(notice.text).toContain('uses Ada.Lovelace@example.org instead of this address');
    const [event] = (await hub.deps.audit.query({ type: 'user.updated' }, { limit: 5 })).items;
    expect(event!.details).toEqual({ change: 'email' });

    // The link is spent by the change itself.
    expect((await ada.post('/account/email/confirm', { _csrf: csrfFrom(landing.body), token }, sameOrigin)).status).toBe(400);
    // Signing in goes by the new address now.
    await signIn('ada.lovelace@example.org');
  });

  it('refuses a wrong password and sends nothing', async () => {
    const ada = await signIn('ada@example.com');
    const res = await ask(ada, { new_email: 'new@example.org', current_password: 'not the password' });
    expect(res.status).toBe(403);
    await new Promise((r) => setTimeout(r, 100));
    expect(await mails(0)).toEqual([]);
  });

  it("answers an address that has an account like any other, but mails nothing and changes nothing", async () => {
    const ada = await signIn('ada@example.com');
    const taken = await ask(ada, { new_email: 'BOB@example.com', current_password: password });
    const free = await ask(ada, { new_email: 'free@example.org', current_password: password });
    expect(taken.status).toBe(free.status);
    expect(taken.body.replace(/BOB@example\.com/g, 'X')).toBe(free.body.replace(/free@example\.org/g, 'X'));
    const sent = await mails(1);
    await new Promise((r) => setTimeout(r, 100));
    expect((await mails(1)).map((m) => m.to)).toEqual(['free@example.org']);
    expect(sent).toHaveLength(1);
    expect(await email('bob@example.com')).toBe('bob@example.com');
  });

  it("refuses another account's link, an expired link, and a link whose address was taken meanwhile", async () => {
    const ada = await signIn('ada@example.com');
    await ask(ada, { new_email: 'first@example.org', current_password: password });
    const link = linkIn((await mails(1))[0]!.text);
    const token = link.searchParams.get('token')!;

    const bob = await signIn('bob@example.com');
    const foreign = await bob.get(`${link.pathname}${link.search}`);
    expect(foreign.status).toBe(400);
    expect((await bob.post('/account/email/confirm', { _csrf: csrfFrom((await bob.get('/account')).body), token }, sameOrigin)).status).toBe(400);

    await hub.deps.users.create({ email: 'first@example.org' });
    const csrf = csrfFrom((await ada.get('/account')).body);
    expect((await ada.post('/account/email/confirm', { _csrf: csrf, token }, sameOrigin)).status).toBe(409);

    hub.clock.advance(hub.deps.config.login.magicLinkTtlSeconds * 1000 + 1000);
    expect((await ada.get(`${link.pathname}${link.search}`)).status).toBe(400);
    expect(await email('ada@example.com')).toBe('ada@example.com');
    expect(await email('bob@example.com')).toBe('bob@example.com');
  });

  it('sends a visitor who opens the link signed out to sign in, and back to the link', async () => {
    const ada = await signIn('ada@example.com');
    await ask(ada, { new_email: 'later@example.org', current_password: password });
    const link = linkIn((await mails(1))[0]!.text);
    const elsewhere = new CookieClient(hub.url);
    const res = await elsewhere.get(`${link.pathname}${link.search}`);
    expect(res.status).toBe(303);
    const back = new URL(res.headers.get('location')!, hubOrigin).searchParams.get('return_to');
    expect(back).toBe(`${link.pathname}${link.search}`);
    const page = await elsewhere.get(res.headers.get('location')!);
    const signedIn = await elsewhere.post('/login', { _csrf: csrfFrom(page.body), email: 'ada@example.com', password, return_to: back! }, sameOrigin);
    expect(signedIn.headers.get('location')).toBe(`${hubOrigin}${link.pathname}${link.search}`);
    expect((await elsewhere.get(`${link.pathname}${link.search}`)).status).toBe(200);
  });
});
