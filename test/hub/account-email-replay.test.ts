/**
 * Changing the e-mail address, the gaps the first suite left: a confirmation link works once even
 * when the account comes back to the address it started from (A → B → A), and a mail server that
 * fails does not make a free address answer differently from one that has an account.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Mailer } from '../../src/ports';
import { hashPassword } from '../../src/users/password';
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, type TestHub } from '../support/hub';
import { readMessage } from '../support/smtp';

const hubOrigin = 'https://hub.example.com';
const sameOrigin = { origin: hubOrigin, 'sec-fetch-site': 'same-origin' };
const password = 'correct horse battery staple';

async function withAccounts(hub: TestHub): Promise<void> {
  const passwordHash = await hashPassword(password);
  await hub.deps.users.create({ email: 'ada@example.com', passwordHash });
  await hub.deps.users.create({ email: 'bob@example.com', passwordHash });
}

async function signIn(hub: TestHub, email: string): Promise<CookieClient> {
  const client = new CookieClient(hub.url);
  const page = await client.get('/login');
  expect((await client.post('/login', { _csrf: csrfFrom(page.body), email, password }, sameOrigin)).status).toBe(303);
  return client;
}

async function ask(client: CookieClient, newEmail: string) {
  const page = await client.get('/account/email');
  expect(page.status).toBe(200);
  return client.post('/account/email', { _csrf: csrfFrom(page.body), new_email: newEmail, current_password: password }, sameOrigin);
}

describe('changing the e-mail address: single use', () => {
  let hub: TestHub;
  beforeEach(async () => {
    hub = await startTestHub();
    await withAccounts(hub);
  });
  afterEach(() => hub.close());

  /** The token of the latest confirmation link mailed to `to`. */
  async function tokenSentTo(to: string): Promise<string> {
    for (let i = 0; i < 50; i += 1) {
      const texts = readdirSync(hub.mailDir)
        .filter((f) => f.endsWith('.eml'))
        .sort()
        .map((f) => readFileSync(`${hub.mailDir}/${f}`, 'utf8'))
        .filter((raw) => /^To: (.*)$/m.exec(raw)![1]!.trim() === to)
        .map((raw) => readMessage(raw).text ?? '');
      const token = texts.map((text) => /\/account\/email\/confirm\?token=([A-Za-z0-9_.-]+)/.exec(text)?.[1]).filter(Boolean).pop();
      if (token !== undefined) return token;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no link mailed to ${to}`);
  }

  async function confirm(client: CookieClient, token: string) {
    return client.post('/account/email/confirm', { _csrf: csrfFrom((await client.get('/account')).body), token }, sameOrigin);
  }

  it('refuses a spent link after the account came back to the address it started from (A → B → A)', async () => {
    const ada = await signIn(hub, 'ada@example.com');
    await ask(ada, 'b@example.org');
    const toB = await tokenSentTo('b@example.org');
    expect((await confirm(ada, toB)).status).toBe(303);

    await ask(ada, 'ada@example.com');
    expect((await confirm(ada, await tokenSentTo('ada@example.com'))).status).toBe(303);
    expect((await hub.deps.users.findByEmail('ada@example.com'))?.email).toBe('ada@example.com');

    const replayed = await confirm(ada, toB);
    expect(replayed.status).toBe(400);
    expect(replayed.body).toContain('This link is not valid');
    expect((await hub.deps.users.findByEmail('ada@example.com'))?.email).toBe('ada@example.com');
    expect(await hub.deps.users.findByEmail('b@example.org')).toBeNull();
  });
});

describe('changing the e-mail address: a failing mail server', () => {
  let hub: TestHub;
  const sent: string[] = [];
  beforeEach(async () => {
    sent.length = 0;
    const mailer: Mailer = {
      send: (message) => {
        sent.push(message.to);
        return Promise.reject(new Error('mail server down'));
      },
    };
    hub = await startTestHub({ mailer });
    await withAccounts(hub);
  });
  afterEach(() => hub.close());

  it('answers a free address exactly as one that has an account', async () => {
    const ada = await signIn(hub, 'ada@example.com');
    const taken = await ask(ada, 'bob@example.com');
    const free = await ask(ada, 'free@example.org');
    expect(free.status).toBe(taken.status);
    expect(free.status).toBe(200);
    expect(free.body.replace(/free@example\.org/g, 'X')).toBe(taken.body.replace(/bob@example\.com/g, 'X'));
    for (let i = 0; i < 50 && sent.length === 0; i += 1) await new Promise((r) => setTimeout(r, 20));
    expect(sent).toEqual(['free@example.org']);
  });
});
