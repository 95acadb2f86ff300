/**
 * Changing the e-mail address, the gaps the first suite left: a confirmation link works once even
 * when the account comes back to the address it started from (A → B → A), only the newest
 * request's link works (also across hub instances), and a mail server that fails does not make a
 * free address answer differently from one that has an account.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createLogger } from '../../src/log/logger';
import type { Mailer } from '../../src/ports';
import { MemoryReplayStore } from '../../src/stores/memory/replay-store';
import { hashPassword } from '../../src/users/password';
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, type TestHub } from '../support/hub';
import { readMessage } from '../support/smtp';
import { LogCapture } from './handoff-support';

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
  let logs: LogCapture;
  beforeEach(async () => {
    logs = new LogCapture();
    hub = await startTestHub({ logger: createLogger({ level: 'info', destination: logs.stream }) });
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

    // Its page says so already: the account has no pending change any more.
    const page = await ada.get(`/account/email/confirm?token=${toB}`);
    expect(page.status).toBe(400);
    expect(page.body).not.toContain('action="/account/email/confirm"');
    const replayed = await confirm(ada, toB);
    expect(replayed.status).toBe(400);
    expect(replayed.body).toContain('This link is not valid');
    expect((await hub.deps.users.findByEmail('ada@example.com'))?.email).toBe('ada@example.com');
    expect(await hub.deps.users.findByEmail('b@example.org')).toBeNull();
  });

  /** The refusals of e-mail change links logged so far. */
  const refusals = () => logs.lines.filter((line) => line.event === 'email-change' && line.result === 'refused');

  it("refuses an unused link once a newer change is asked for (B, then C): B's link changes nothing, C's works", async () => {
    const ada = await signIn(hub, 'ada@example.com');
    await ask(ada, 'b@example.org');
    const toB = await tokenSentTo('b@example.org');
    await ask(ada, 'c@example.org');
    const toC = await tokenSentTo('c@example.org');

    const stale = await confirm(ada, toB);
    expect(stale.status).toBe(400);
    expect(stale.body).toContain('This link is not valid: it expired, was used already, was replaced by a newer one');
    expect(refusals()).toEqual([expect.objectContaining({ code: 'ERR_MAGIC_LINK_INVALID', reason: 'superseded' })]);
    expect(JSON.stringify(logs.lines)).not.toContain(toB);
    expect((await hub.deps.users.findByEmail('ada@example.com'))?.email).toBe('ada@example.com');
    expect(await hub.deps.users.findByEmail('b@example.org')).toBeNull();

    expect((await confirm(ada, toC)).status).toBe(303);
    expect(await hub.deps.users.findByEmail('ada@example.com')).toBeNull();
    expect((await hub.deps.users.findByEmail('c@example.org'))?.email).toBe('c@example.org');
    // Still nothing for B's, now that C's is spent too.
    expect((await confirm(ada, toB)).status).toBe(400);
    expect((await hub.deps.users.findByEmail('c@example.org'))?.email).toBe('c@example.org');
  });

  it('shows a link replaced by a newer request as not valid on its page already, as a spent one, spending nothing', async () => {
    const ada = await signIn(hub, 'ada@example.com');
    await ask(ada, 'b@example.org');
    const toB = await tokenSentTo('b@example.org');
    await ask(ada, 'c@example.org');
    const toC = await tokenSentTo('c@example.org');
    const page = (token: string) => ada.get(`/account/email/confirm?token=${token}`);

    const stale = await page(toB);
    expect(stale.status).toBe(400);
    expect(stale.body).toContain('This link is not valid: it expired, was used already, was replaced by a newer one');
    expect(stale.body).not.toContain('action="/account/email/confirm"');
    const newest = await page(toC);
    expect(newest.status).toBe(200);
    expect(newest.body).toContain('action="/account/email/confirm"');
    expect(newest.body).toContain('c@example.org');
    expect((await page(toC)).status).toBe(200);
    expect((await page(toB)).status).toBe(400);

    // The pages spent nothing: the newest link still changes the address, once.
    expect((await confirm(ada, toC)).status).toBe(303);
    expect((await hub.deps.users.findByEmail('c@example.org'))?.email).toBe('c@example.org');
    expect((await page(toC)).status).toBe(400);
  });

  it('refuses the older link after a newer request for a taken address too, so the link cannot tell whether it was taken', async () => {
    const ada = await signIn(hub, 'ada@example.com');
    await ask(ada, 'b@example.org');
    const toB = await tokenSentTo('b@example.org');
    await ask(ada, 'bob@example.com');
    expect((await confirm(ada, toB)).status).toBe(400);
    expect((await hub.deps.users.findByEmail('ada@example.com'))?.email).toBe('ada@example.com');
    expect(await hub.deps.users.findByEmail('b@example.org')).toBeNull();
  });

  it('keeps only the newest link working across two hub instances that share the user database', async () => {
    // Another instance: the same users, sessions and keys; a replay store of its own, so what
    // decides is in the user database, not in either process.
    const second = await startTestHub({ clock: hub.clock, users: hub.deps.users, sessions: hub.deps.sessions, keyring: hub.deps.keyring, replay: new MemoryReplayStore({ clock: hub.clock }), mailer: hub.deps.mailer });
    try {
      const ada = await signIn(hub, 'ada@example.com');
      const adaOnSecond = new CookieClient(second.url);
      adaOnSecond.cookies.set('__Host-tessera', ada.cookies.get('__Host-tessera')!);
      await ask(ada, 'b@example.org');
      const toB = await tokenSentTo('b@example.org');
      await ask(adaOnSecond, 'c@example.org');
      const toC = await tokenSentTo('c@example.org');
      expect((await confirm(adaOnSecond, toB)).status).toBe(400);
      expect((await confirm(ada, toB)).status).toBe(400);
      expect((await hub.deps.users.findByEmail('ada@example.com'))?.email).toBe('ada@example.com');
      expect((await confirm(ada, toC)).status).toBe(303);
      expect((await hub.deps.users.findByEmail('c@example.org'))?.email).toBe('c@example.org');
    } finally {
      await second.close();
    }
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
