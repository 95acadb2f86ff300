/**
 * E-mail magic links end to end: the hub sends through a real SMTP server started here, the
 * test reads the message as it crossed the wire, and a cookie-keeping client follows the link.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createMailer } from '../../src/mail/mailer';
import { silentLogger } from '../../src/log/logger';
import { parseCookieValue } from '../../src/core/sessions/session';
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, testConfig, type TestHub } from '../support/hub';
import { readMessage, startSmtpServer, type SmtpTestServer } from '../support/smtp';
import { Browser, formField } from './handoff-support';

const hubOrigin = 'https://hub.example.com';
const sameOrigin = { origin: hubOrigin, 'sec-fetch-site': 'same-origin' };

async function waitForMail(smtp: SmtpTestServer, count: number): Promise<void> {
  for (let i = 0; i < 100 && smtp.messages.length < count; i += 1) await new Promise((r) => setTimeout(r, 20));
  expect(smtp.messages).toHaveLength(count);
}

describe('magic link login', () => {
  let smtp: SmtpTestServer;
  let hub: TestHub;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    const mailer = createMailer({ transport: 'smtp', from: 'login@hub.example.com', smtp: { host: '127.0.0.1', port: smtp.port, secure: false } }, silentLogger());
    hub = await startTestHub({ mailer });
    await hub.deps.users.create({ email: 'Ada@Example.com', name: 'Ada' });
  });
  afterAll(async () => {
    await hub.close();
    await smtp.close();
  });
  beforeEach(() => {
    smtp.messages.length = 0;
  });

  async function requestLink(client: CookieClient, email: string, returnTo = '') {
    const csrf = csrfFrom((await client.get('/login')).body);
    return client.post('/login/email', { _csrf: csrf, email, return_to: returnTo }, sameOrigin);
  }

  async function linkFromMail(index = 0): Promise<string> {
    const mail = readMessage(smtp.messages[index]!.raw);
    const match = /https:\/\/hub\.example\.com\/login\/link\?token=[A-Za-z0-9_-]{43}/.exec(mail.text ?? '');
    expect(match).not.toBeNull();
    return match![0];
  }

  it('mails a link built from the public URL (not Host), which signs in once through a POST', async () => {
    // fetch would drop a Host header, so this request speaks node:http to claim another host.
    const browser = new Browser(hub.url);
    const form = await browser.get('attacker.example', '/login');
    const res = await browser.request('attacker.example', 'POST', '/login/email', {
      form: { _csrf: formField(form.body, '_csrf'), email: 'ada@example.com' },
      headers: { ...sameOrigin, 'x-forwarded-host': 'attacker.example' },
    });
    expect(res.status).toBe(200);
    const client = new CookieClient(hub.url);
    await waitForMail(smtp, 1);
    // The local part as the user entered it; the envelope carries the domain lower-cased.
    expect(smtp.messages[0]!.to).toEqual(['Ada@example.com']);
    expect(smtp.messages[0]!.from).toBe('login@hub.example.com');
    const link = new URL(await linkFromMail());

    // Opening the link (a GET, as a mail scanner would) consumes nothing.
    const landing = await client.get(`${link.pathname}${link.search}`);
    expect(landing.status).toBe(200);
    expect(landing.body).toContain('action="/login/link"');
    // It names the account it signs into, so a link to someone else's account is recognisable.
    expect(landing.body).toContain('sign in as <strong>Ada@Example.com</strong>');
    const again = await client.get(`${link.pathname}${link.search}`);
    expect(again.status).toBe(200);
    expect(client.cookies.has('__Host-tessera')).toBe(false);

    const token = link.searchParams.get('token')!;
    const consumed = await client.post('/login/link', { _csrf: csrfFrom(landing.body), token }, sameOrigin);
    expect(consumed.status).toBe(303);
    expect(consumed.headers.get('location')).toBe(`${hubOrigin}/account`);
    const sid = parseCookieValue(client.cookies.get('__Host-tessera'))!.sid;
    expect((await hub.deps.sessions.get(sid))?.userId).toBe((await hub.deps.users.findByEmail('ada@example.com'))!.id);

    expect(link.origin).toBe(hubOrigin);
    const other = new CookieClient(hub.url);
    // A spent link's landing page says so at once; posting it anyway changes nothing.
    const page = await other.get(`${link.pathname}${link.search}`);
    expect(page.status).toBe(400);
    expect(page.body).not.toContain('action="/login/link"');
    const reused = await other.post('/login/link', { _csrf: csrfFrom((await other.get('/login')).body), token }, sameOrigin);
    expect(reused.status).toBe(400);
    expect(other.cookies.has('__Host-tessera')).toBe(false);
  });

  it('spends every other pending link of the account once one is used', async () => {
    // An account of its own: the per-recipient link budget of Ada's is the other tests'.
    await hub.deps.users.create({ email: 'grace@example.com' });
    const client = new CookieClient(hub.url);
    await requestLink(client, 'grace@example.com');
    await requestLink(client, 'grace@example.com');
    await waitForMail(smtp, 2);
    const first = new URL(await linkFromMail(0));
    const second = new URL(await linkFromMail(1));
    const landing = await client.get(`${second.pathname}${second.search}`);
    expect((await client.post('/login/link', { _csrf: csrfFrom(landing.body), token: second.searchParams.get('token')! }, sameOrigin)).status).toBe(303);
    const other = new CookieClient(hub.url);
    expect((await other.get(`${first.pathname}${first.search}`)).status).toBe(400);
    const res = await other.post('/login/link', { _csrf: csrfFrom((await other.get('/login')).body), token: first.searchParams.get('token')! }, sameOrigin);
    expect(res.status).toBe(400);
    expect(other.cookies.has('__Host-tessera')).toBe(false);
  });

  it('refuses an expired link', async () => {
    const client = new CookieClient(hub.url);
    await requestLink(client, 'ada@example.com');
    await waitForMail(smtp, 1);
    const link = new URL(await linkFromMail());
    hub.clock.advance(10 * 60 * 1000 + 1000);
    const page = await client.get(`${link.pathname}${link.search}`);
    expect(page.status).toBe(400);
    const res = await client.post('/login/link', { _csrf: csrfFrom((await client.get('/login')).body), token: link.searchParams.get('token')! }, sameOrigin);
    expect(res.status).toBe(400);
    expect(client.cookies.has('__Host-tessera')).toBe(false);
  });

  it('answers the same for an unknown address and sends nothing', async () => {
    const client = new CookieClient(hub.url);
    const known = await requestLink(client, 'ada@example.com');
    await waitForMail(smtp, 1);
    const unknown = await requestLink(client, 'nobody@example.com');
    const invalid = await requestLink(client, 'a@b.com\r\nBcc: x@y.com');
    expect(unknown.status).toBe(known.status);
    expect(unknown.body).toBe(known.body);
    expect(invalid.body).toBe(known.body);
    await new Promise((r) => setTimeout(r, 200));
    expect(smtp.messages).toHaveLength(1);
  });

  it('carries a return_to on a configured origin through the link', async () => {
    const client = new CookieClient(hub.url);
    await requestLink(client, 'ada@example.com', `${hubOrigin}/account?from=mail`);
    await waitForMail(smtp, 1);
    const link = new URL(await linkFromMail());
    const page = await client.get(`${link.pathname}${link.search}`);
    const res = await client.post('/login/link', { _csrf: csrfFrom(page.body), token: link.searchParams.get('token')! }, sameOrigin);
    expect(res.headers.get('location')).toBe(`${hubOrigin}/account?from=mail`);
  });
});

describe('magic link to an address typed in the other Unicode normalisation form', () => {
  it('mails the account its link when the address comes decomposed (NFD) and the account has it precomposed (NFC)', async () => {
    const hub = await startTestHub();
    try {
      const zoe = await hub.deps.users.create({ email: 'Zo\u00eb@example.com' });
      const client = new CookieClient(hub.url);
      const csrf = csrfFrom((await client.get('/login')).body);
      expect((await client.post('/login/email', { _csrf: csrf, email: 'zoe\u0308@example.com' }, sameOrigin)).status).toBe(200);
      let files: string[] = [];
      for (let i = 0; i < 100 && files.length === 0; i += 1) {
        await new Promise((r) => setTimeout(r, 20));
        files = readdirSync(hub.mailDir).filter((f) => f.endsWith('.eml'));
      }
      expect(files).toHaveLength(1);
      const mail = readMessage(readFileSync(`${hub.mailDir}/${files[0]}`, 'utf8')).text ?? '';
      const link = new URL(/https:\/\/hub\.example\.com\/login\/link\?token=[A-Za-z0-9_-]{43}/.exec(mail)![0]);
      const landing = await client.get(`${link.pathname}${link.search}`);
      const res = await client.post('/login/link', { _csrf: csrfFrom(landing.body), token: link.searchParams.get('token')! }, sameOrigin);
      expect(res.status).toBe(303);
      const sid = parseCookieValue(client.cookies.get('__Host-tessera'))!.sid;
      expect((await hub.deps.sessions.get(sid))?.userId).toBe(zoe.id);
    } finally {
      await hub.close();
    }
  });
});

describe('magic link lifetime in the words of the pages and the e-mail', () => {
  it('states the configured lifetime, rounded down to whole minutes', async () => {
    const hub = await startTestHub({ config: testConfig({ TESSERA_MAGIC_LINK_TTL: '330' }) });
    try {
      await hub.deps.users.create({ email: 'ada@example.com' });
      const client = new CookieClient(hub.url);
      const csrf = csrfFrom((await client.get('/login')).body);
      const sent = await client.post('/login/email', { _csrf: csrf, email: 'ada@example.com' }, sameOrigin);
      expect(sent.body).toContain('expires in 5 minutes.');
      let files: string[] = [];
      for (let i = 0; i < 100 && files.length === 0; i += 1) {
        await new Promise((r) => setTimeout(r, 20));
        files = readdirSync(hub.mailDir).filter((f) => f.endsWith('.eml'));
      }
      const mail = readMessage(readFileSync(`${hub.mailDir}/${files[0]}`, 'utf8')).text ?? '';
      expect(mail).toContain('expires in 5 minutes');
      const link = new URL(/https:\/\/hub\.example\.com\/login\/link\?token=[A-Za-z0-9_-]{43}/.exec(mail)![0]);
      const landing = await client.get(`${link.pathname}${link.search}`);
      expect(landing.body).toContain('expires 5 minutes after it was sent.');
    } finally {
      await hub.close();
    }
  });
});
