/**
 * Attacks found in review, each with the test first: parallel password guesses, a spoofed
 * X-Forwarded-For, one user's data following the next user, a chunked oversized body,
 * mail-bombing one address with sign-in links.
 */
import http from 'node:http';
import { parseCookieValue } from '../../src/core/sessions/session';
import { hashPassword } from '../../src/users/password';
import { readdirSync, readFileSync } from 'node:fs';
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, testConfig } from '../support/hub';

const sameOrigin = { origin: 'https://hub.example.com', 'sec-fetch-site': 'same-origin' };
const password = 'correct horse battery staple';

async function loginForm(client: CookieClient): Promise<string> {
  return csrfFrom((await client.get('/login')).body);
}

describe('login hardening', () => {
  it('counts parallel password guesses against the account before verifying any', async () => {
    const hub = await startTestHub({ config: testConfig({ TESSERA_LOGIN_ACCOUNT_LIMIT: '3', TESSERA_LOGIN_ADDRESS_LIMIT: '1000' }) });
    try {
      await hub.deps.users.create({ email: 'ada@example.com', passwordHash: await hashPassword(password) });
      const client = new CookieClient(hub.url);
      const csrf = await loginForm(client);
      const results = await Promise.all(
        Array.from({ length: 12 }, () => client.post('/login', { _csrf: csrf, email: 'ada@example.com', password: 'wrong-password' }, sameOrigin)),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(3);
      expect(statuses.filter((s) => s === 429)).toHaveLength(9);
    } finally {
      await hub.close();
    }
  });

  it('takes the client address from the trusted proxy, not from what the client put in X-Forwarded-For', async () => {
    const hub = await startTestHub({ config: testConfig({ TESSERA_TRUST_PROXY: 'true', TESSERA_LOGIN_ADDRESS_LIMIT: '2', TESSERA_LOGIN_ACCOUNT_LIMIT: '1000' }) });
    try {
      const client = new CookieClient(hub.url);
      const csrf = await loginForm(client);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) {
        // The client invents a new address each time; the proxy appends the real one.
        const res = await client.post('/login', { _csrf: csrf, email: 'x@example.com', password: 'wrong-password' }, { ...sameOrigin, 'x-forwarded-for': `10.0.0.${i}, 203.0.113.7` });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 429, 429]);
    } finally {
      await hub.close();
    }
  });

  it("does not carry one user's session data into the next user's session", async () => {
    const hub = await startTestHub();
    try {
      const ada = await hub.deps.users.create({ email: 'ada@example.com', passwordHash: await hashPassword(password) });
      await hub.deps.users.create({ email: 'bob@example.com', passwordHash: await hashPassword(password) });
      const client = new CookieClient(hub.url);
      let res = await client.post('/login', { _csrf: await loginForm(client), email: 'ada@example.com', password }, sameOrigin);
      expect(res.status).toBe(303);
      const adaSid = parseCookieValue(client.cookies.get('__Host-tessera'))!.sid;
      await hub.deps.sessions.setData(adaSid, { secretOfAda: 42 });
      res = await client.post('/login', { _csrf: csrfFrom((await client.get('/account')).body), email: 'bob@example.com', password }, sameOrigin);
      expect(res.status).toBe(303);
      const bobSid = parseCookieValue(client.cookies.get('__Host-tessera'))!.sid;
      const bob = await hub.deps.sessions.get(bobSid);
      expect(bob?.userId).not.toBe(ada.id);
      expect(bob?.data).toEqual({});
      expect(await hub.deps.sessions.get(adaSid)).toBeNull();
    } finally {
      await hub.close();
    }
  });

  it('answers a chunked oversized body with 413 rather than a reset', async () => {
    const hub = await startTestHub();
    try {
      const url = new URL(`${hub.url}/login`);
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: url.hostname, port: url.port, path: '/login', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked', ...sameOrigin } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        for (let i = 0; i < 10; i += 1) req.write(`email=${'a'.repeat(16 * 1024)}`);
        req.end();
      });
      expect(status).toBe(413);
    } finally {
      await hub.close();
    }
  });

  it('mails at most the configured number of sign-in links to one address, answering the same throughout', async () => {
    const hub = await startTestHub({ config: testConfig({ TESSERA_LOGIN_LINK_LIMIT: '2', TESSERA_LOGIN_ADDRESS_LIMIT: '1000' }) });
    try {
      await hub.deps.users.create({ email: 'ada@example.com' });
      const client = new CookieClient(hub.url);
      const csrf = await loginForm(client);
      const bodies = new Set<string>();
      for (let i = 0; i < 4; i += 1) {
        const res = await client.post('/login/email', { _csrf: csrf, email: 'ada@example.com' }, sameOrigin);
        expect(res.status).toBe(200);
        bodies.add(res.body);
      }
      expect(bodies.size).toBe(1);
      const mails = () => readdirSync(hub.mailDir).filter((f) => f.endsWith('.eml'));
      for (let i = 0; i < 150 && mails().length < 2; i += 1) await new Promise((r) => setTimeout(r, 20));
      // Links are issued after each answer; give a third one (which must not come) time to appear.
      await new Promise((r) => setTimeout(r, 500));
      expect(mails()).toHaveLength(2);
    } finally {
      await hub.close();
    }
  });
});

describe('new sign-in notice', () => {
  it('e-mails the person after a sign-in, naming the device, when configured', async () => {
    const hub = await startTestHub({ config: testConfig({ TESSERA_LOGIN_NOTIFY: 'true' }) });
    try {
      await hub.deps.users.create({ email: 'ada@example.com', passwordHash: await hashPassword(password) });
      const client = new CookieClient(hub.url, { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Version/17.0 Safari/605.1.15' });
      const res = await client.post('/login', { _csrf: await loginForm(client), email: 'ada@example.com', password }, sameOrigin);
      expect(res.status).toBe(303);
      let files: string[] = [];
      for (let i = 0; i < 50 && files.length === 0; i += 1) {
        await new Promise((r) => setTimeout(r, 20));
        files = readdirSync(hub.mailDir).filter((f) => f.endsWith('.eml'));
      }
      expect(files).toHaveLength(1);
      const mail = readFileSync(`${hub.mailDir}/${files[0]}`, 'utf8');
      expect(mail).toMatch(/^To: ada@example\.com/m);
      expect(mail).toContain('Safari on macOS');
    } finally {
      await hub.close();
    }
  });

  it('sends nothing by default', async () => {
    const hub = await startTestHub();
    try {
      await hub.deps.users.create({ email: 'ada@example.com', passwordHash: await hashPassword(password) });
      const client = new CookieClient(hub.url);
      expect((await client.post('/login', { _csrf: await loginForm(client), email: 'ada@example.com', password }, sameOrigin)).status).toBe(303);
      await new Promise((r) => setTimeout(r, 200));
      expect(readdirSync(hub.mailDir)).toEqual([]);
    } finally {
      await hub.close();
    }
  });
});
