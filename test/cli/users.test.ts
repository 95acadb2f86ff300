/**
 * The real `tessera users …` and `tessera keys …` commands against a SQLite file in a temp
 * directory, with standard input and output captured. The notices the commands mail go to the
 * `.eml` files of the development transport in that directory, or to a real SMTP server.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { systemClock } from '../../src/core/clock';
import { createSessionRecord } from '../../src/core/sessions/session';
import { silentLogger } from '../../src/log/logger';
import { openStores } from '../../src/stores/open';
import { loadConfig } from '../../src/config/load';
import { verifyPassword } from '../../src/users/password';
import { readMessage, startSmtpServer, type SmtpTestServer } from '../support/smtp';

describe('tessera users and keys', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let output: string[];
  let errors: string[];
  let secret: string;

  const io = (): CliIo => ({ out: (t) => output.push(t), err: (t) => errors.push(t), readSecret: async () => secret, env });
  const tessera = (...args: string[]) => run(['node', 'tessera', ...args], io());

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
    env = { TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}`, TESSERA_KEYS_DIR: join(dir, 'keys'), TESSERA_LOG_LEVEL: 'silent', TESSERA_MAIL_DIR: join(dir, 'mail') };
    output = [];
    errors = [];
    secret = 'a long enough password';
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function stores() {
    return openStores(loadConfig({ env }).config, systemClock, silentLogger());
  }

  /** The messages the development transport wrote, oldest first, as read from their `.eml` files. */
  function mailFiles(): ReturnType<typeof readMessage>[] {
    let names: string[];
    try {
      names = readdirSync(join(dir, 'mail'));
    } catch {
      return [];
    }
    return names.filter((n) => n.endsWith('.eml')).sort().map((n) => readMessage(readFileSync(join(dir, 'mail', n), 'utf8')));
  }

  it('adds an admin with a password read from standard input, and lists them', async () => {
    expect(await tessera('users', 'add', '--email', 'Root@Example.com', '--name', 'Root', '--admin', '--password-stdin')).toBe(0);
    expect(output[0]).toMatch(/^created Root@Example\.com \(id [A-Za-z0-9_-]{22}, roles admin\)$/);
    const s = await stores();
    const user = await s.users.findByEmail('root@example.com');
    expect(user?.roles).toEqual(['admin']);
    expect(await verifyPassword(user!.passwordHash!, 'a long enough password')).toBe(true);
    await s.close();
    output = [];
    expect(await tessera('users', 'list')).toBe(0);
    expect(output[0]).toMatch(/^EMAIL\s+NAME\s+ROLES/);
    expect(output[0]).toContain('Root@Example.com');
  });

  it('refuses a duplicate e-mail and an invalid address with their codes', async () => {
    expect(await tessera('users', 'add', '--email', 'a@example.com')).toBe(0);
    expect(await tessera('users', 'add', '--email', 'A@EXAMPLE.COM')).toBe(1);
    expect(errors[0]).toMatch(/^tessera: ERR_USER_EXISTS: /);
    expect(await tessera('users', 'add', '--email', 'a@b.com\nBcc: x@y.com')).toBe(1);
    expect(errors[1]).toMatch(/^tessera: ERR_EMAIL_INVALID: /);
  });

  it('refuses a too-short password without creating the user', async () => {
    secret = 'short';
    expect(await tessera('users', 'add', '--email', 'b@example.com', '--password-stdin')).toBe(1);
    expect(errors[0]).toMatch(/^tessera: ERR_PASSWORD_POLICY: /);
    const s = await stores();
    expect(await s.users.findByEmail('b@example.com')).toBeNull();
    await s.close();
  });

  it('disabling a user ends all of their sessions; enable lets them back', async () => {
    await tessera('users', 'add', '--email', 'c@example.com');
    let s = await stores();
    const user = (await s.users.findByEmail('c@example.com'))!;
    const policy = { idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 43200, touchIntervalSeconds: 60 };
    const now = Math.floor(Date.now() / 1000);
    const sessions = [createSessionRecord({ userId: user.id, ip: null, userAgent: null, now }, policy), createSessionRecord({ userId: user.id, ip: null, userAgent: null, now }, policy)];
    for (const { record } of sessions) await s.sessions.create(record);
    await s.close();

    expect(await tessera('users', 'disable', '--email', 'c@example.com')).toBe(0);
    expect(output.at(-1)).toBe('disabled c@example.com; ended 2 session(s)');
    s = await stores();
    expect((await s.users.findById(user.id))?.disabled).toBe(true);
    expect(await s.sessions.listByUser(user.id)).toEqual([]);
    await s.close();

    expect(await tessera('users', 'enable', '--email', 'c@example.com')).toBe(0);
    s = await stores();
    expect((await s.users.findById(user.id))?.disabled).toBe(false);
    await s.close();
  });

  it('deletes a user only with --yes: sessions end, the account goes, the address is free again', async () => {
    await tessera('users', 'add', '--email', 'd@example.com');
    let s = await stores();
    const user = (await s.users.findByEmail('d@example.com'))!;
    const now = Math.floor(Date.now() / 1000);
    const { record } = createSessionRecord({ userId: user.id, ip: null, userAgent: null, now }, { idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 43200, touchIntervalSeconds: 60 });
    await s.sessions.create(record);
    await s.close();

    expect(await tessera('users', 'delete', '--email', 'd@example.com')).toBe(1);
    expect(errors[0]).toMatch(/^tessera: ERR_BAD_REQUEST: deleting d@example\.com cannot be undone: add --yes/);
    s = await stores();
    expect(await s.users.findById(user.id)).not.toBeNull();
    expect(await s.sessions.get(record.sid)).not.toBeNull();
    await s.close();

    expect(await tessera('users', 'delete', '--email', 'd@example.com', '--yes')).toBe(0);
    expect(output.at(-1)).toBe('deleted d@example.com; ended 1 session(s)');
    s = await stores();
    expect(await s.users.findById(user.id)).toBeNull();
    expect(await s.sessions.get(record.sid)).toBeNull();
    expect((await s.audit.query({ type: 'user.deleted' }, { limit: 5 })).items[0]).toMatchObject({ actor: 'cli', userId: user.id });
    await s.close();
    expect(await tessera('users', 'delete', '--email', 'd@example.com', '--yes')).toBe(1);
    expect(errors.at(-1)).toMatch(/^tessera: ERR_USER_NOT_FOUND: /);
    expect(await tessera('users', 'add', '--email', 'd@example.com')).toBe(0);
  });

  it('turns a user\'s two-step sign-in off', async () => {
    await tessera('users', 'add', '--email', 't@example.com');
    let s = await stores();
    const user = (await s.users.findByEmail('t@example.com'))!;
    await s.users.setTotp(user.id, { secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', recoveryCodeHashes: [] });
    await s.close();
    expect(await tessera('users', 'two-step-off', '--email', 't@example.com')).toBe(0);
    expect(output.at(-1)).toBe('two-step sign-in is off for t@example.com');
    s = await stores();
    expect(await s.users.totpState(user.id)).toBeNull();
    expect((await s.users.findById(user.id))!.totpEnabledAt).toBeNull();
    await s.close();
    // The development transport: the notice is an .eml file, and the CLI says where notices go.
    const [mail] = mailFiles();
    expect(mail?.headers).toMatchObject({ to: 't@example.com', subject: 'Two-step sign-in was turned off for your Tessera account' });
    expect(mail?.text).toContain('An administrator turned off two-step sign-in for your Tessera account at ');
    expect(errors).toEqual([expect.stringMatching(/^tessera: warning: mail transport "file": messages are written to disk/)]);
  });

  describe('the notices to the account\'s owner, through the configured SMTP server', () => {
    let smtp: SmtpTestServer;

    /** Points the configuration at a port nothing listens on: a mail server that is down. */
    async function mailServerDown(): Promise<void> {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      env.TESSERA_SMTP_PORT = String(port);
    }

    beforeEach(async () => {
      smtp = await startSmtpServer();
      Object.assign(env, {
        TESSERA_MAIL_TRANSPORT: 'smtp',
        TESSERA_MAIL_FROM: 'login@example.com',
        TESSERA_SMTP_HOST: '127.0.0.1',
        TESSERA_SMTP_PORT: String(smtp.port),
        TESSERA_SMTP_REQUIRE_TLS: 'false',
      });
    });
    afterEach(() => smtp.close());

    /** A user with two-step sign-in on and one live session. */
    async function userWithSession(email: string) {
      expect(await tessera('users', 'add', '--email', email)).toBe(0);
      const s = await stores();
      const user = (await s.users.findByEmail(email))!;
      await s.users.setTotp(user.id, { secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', recoveryCodeHashes: [] });
      const { record } = createSessionRecord({ userId: user.id, ip: null, userAgent: null, now: Math.floor(Date.now() / 1000) }, { idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 43200, touchIntervalSeconds: 60 });
      await s.sessions.create(record);
      await s.close();
      return { user, sid: record.sid };
    }

    it('two-step-off tells the owner, as the admin UI and API do', async () => {
      await userWithSession('Tess@Example.com');
      expect(await tessera('users', 'two-step-off', '--email', 'tess@example.com')).toBe(0);
      expect(smtp.messages.map((m) => [m.from, m.to])).toEqual([['login@example.com', ['Tess@example.com']]]);
      const mail = readMessage(smtp.messages[0]!.raw);
      expect(mail.headers.subject).toBe('Two-step sign-in was turned off for your Tessera account');
      expect(mail.text).toContain('An administrator turned off two-step sign-in for your Tessera account at ');
      expect(mail.text).toContain('If you did not ask for this, contact your administrator at once.');
      expect(errors).toEqual([]);
    });

    it('two-step-off still turns two-step sign-in off when the mail cannot be sent, but says so and exits 1', async () => {
      const { user } = await userWithSession('t@example.com');
      await mailServerDown();
      expect(await tessera('users', 'two-step-off', '--email', 't@example.com')).toBe(1);
      expect(output.at(-1)).toBe('two-step sign-in is off for t@example.com');
      expect(errors[0]).toMatch(/^tessera: warning: mail not sent \{"toDomain":"example\.com","reason":"ESOCKET"\}$/);
      expect(errors.at(-1)).toBe('tessera: ERR_MAIL_SEND_FAILED: the e-mail telling t@example.com could not be sent: tell them another way');
      const s = await stores();
      expect(await s.users.totpState(user.id)).toBeNull();
      expect((await s.audit.query({ type: 'user.updated' }, { limit: 5 })).items.map((e) => [e.actor, e.details])).toEqual([['cli', { change: 'two-step-reset' }]]);
      await s.close();
    });

    it('passwd tells the owner that an administrator set or removed their password', async () => {
      await userWithSession('p@example.com');
      expect(await tessera('users', 'passwd', '--email', 'p@example.com')).toBe(0);
      expect(await tessera('users', 'passwd', '--email', 'p@example.com', '--clear', '--keep-sessions')).toBe(0);
      expect(smtp.messages.map((m) => m.to)).toEqual([['p@example.com'], ['p@example.com']]);
      const [set, cleared] = smtp.messages.map((m) => readMessage(m.raw));
      expect(set!.headers.subject).toBe('An administrator set a new password for your Tessera account');
      expect(set!.text).toContain('An administrator set a new password for your Tessera account at ');
      expect(set!.text).toContain('You were signed out everywhere.');
      expect(cleared!.headers.subject).toBe('An administrator removed the password of your Tessera account');
      expect(cleared!.text).toContain('You sign in with an e-mail link from now on.');
      expect(cleared!.text).not.toContain('signed out');
    });

    it('passwd changes the password when the mail cannot be sent, then exits 1 saying so', async () => {
      await userWithSession('p@example.com');
      await mailServerDown();
      expect(await tessera('users', 'passwd', '--email', 'p@example.com')).toBe(1);
      expect(output.at(-1)).toBe('password set for p@example.com; ended 1 session(s)');
      expect(errors.at(-1)).toBe('tessera: ERR_MAIL_SEND_FAILED: the e-mail telling p@example.com could not be sent: tell them another way');
      const s = await stores();
      expect(await verifyPassword((await s.users.findByEmail('p@example.com'))!.passwordHash!, 'a long enough password')).toBe(true);
      await s.close();
    });

    it('disable tells the owner their sessions ended when admin.notifyOnRevoke is on, as the admin UI and API do', async () => {
      await userWithSession('quiet@example.com');
      expect(await tessera('users', 'disable', '--email', 'quiet@example.com')).toBe(0);
      expect(smtp.messages).toEqual([]);

      env.TESSERA_ADMIN_NOTIFY_REVOKE = 'true';
      await userWithSession('told@example.com');
      expect(await tessera('users', 'disable', '--email', 'told@example.com')).toBe(0);
      expect(smtp.messages.map((m) => m.to)).toEqual([['told@example.com']]);
      const mail = readMessage(smtp.messages[0]!.raw);
      expect(mail.headers.subject).toBe('You were signed out of Tessera');
      expect(mail.text).toContain('An administrator ended all of your Tessera sessions at ');
    });

    it('delete tells the owner, at the address the account had, once it is deleted; enable mails nobody', async () => {
      const { user } = await userWithSession('Gone@Example.com');
      await userWithSession('back@example.com');
      expect(await tessera('users', 'delete', '--email', 'gone@example.com', '--yes')).toBe(0);
      expect(output.at(-1)).toBe('deleted gone@example.com; ended 1 session(s)');
      expect(smtp.messages.map((m) => [m.from, m.to])).toEqual([['login@example.com', ['Gone@example.com']]]);
      const mail = readMessage(smtp.messages[0]!.raw);
      expect(mail.headers.subject).toBe('Your Tessera account was deleted');
      expect(mail.text).toContain('An administrator deleted your Tessera account at ');
      expect(mail.text).toContain('You were signed out everywhere');
      expect(errors).toEqual([]);
      const s = await stores();
      expect(await s.users.findById(user.id)).toBeNull();
      await s.close();
      expect(await tessera('users', 'enable', '--email', 'back@example.com')).toBe(0);
      expect(smtp.messages).toHaveLength(1);
    });

    it('delete still deletes when the mail cannot be sent, but says so and exits 1', async () => {
      const { user, sid } = await userWithSession('gone@example.com');
      await mailServerDown();
      expect(await tessera('users', 'delete', '--email', 'gone@example.com', '--yes')).toBe(1);
      expect(output.at(-1)).toBe('deleted gone@example.com; ended 1 session(s)');
      expect(errors.at(-1)).toBe('tessera: ERR_MAIL_SEND_FAILED: the e-mail telling gone@example.com could not be sent: tell them another way');
      const s = await stores();
      expect(await s.users.findById(user.id)).toBeNull();
      expect(await s.sessions.get(sid)).toBeNull();
      await s.close();
    });
  });

  it('disable and passwd revoke through the outbox: audit events by cli and back-channel deliveries for a running hub', async () => {
    env.TESSERA_SITES = JSON.stringify([{ origin: 'https://www.example.org', backchannelLogoutUri: 'https://www.example.org/shared-session/backchannel-logout' }]);
    await tessera('users', 'add', '--email', 'e@example.com');
    let s = await stores();
    const user = (await s.users.findByEmail('e@example.com'))!;
    const policy = { idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 43200, touchIntervalSeconds: 60 };
    const now = Math.floor(Date.now() / 1000);
    const linked = createSessionRecord({ userId: user.id, ip: null, userAgent: null, now }, policy).record;
    const unlinked = createSessionRecord({ userId: user.id, ip: null, userAgent: null, now }, policy).record;
    await s.sessions.create(linked);
    await s.sessions.create(unlinked);
    await s.sessions.linkSite(linked.sid, { site: 'https://www.example.org', linkedAt: now, src: 'hub.example.com', secretHash: null, projectionKey: null });
    await s.close();

    expect(await tessera('users', 'disable', '--email', 'e@example.com')).toBe(0);
    s = await stores();
    const events = (await s.audit.query({ type: 'session.revoked' }, { limit: 10 })).items;
    expect(events.map((e) => [e.sid, e.reason, e.actor]).sort()).toEqual([[linked.sid, 'user-disabled', 'cli'], [unlinked.sid, 'user-disabled', 'cli']].sort());
    const queued = (await s.outbox.list({}, { limit: 10 })).items;
    expect(queued.map((d) => [d.site, d.uri, d.sid, d.sub, d.reason, d.status])).toEqual([
      ['https://www.example.org', 'https://www.example.org/shared-session/backchannel-logout', linked.sid, user.id, 'user-disabled', 'pending'],
    ]);

    await s.users.setDisabled(user.id, false);
    const again = createSessionRecord({ userId: user.id, ip: null, userAgent: null, now }, policy).record;
    await s.sessions.create(again);
    await s.close();
    expect(await tessera('users', 'passwd', '--email', 'e@example.com')).toBe(0);
    s = await stores();
    expect((await s.audit.query({ type: 'session.revoked', sid: again.sid }, { limit: 10 })).items.map((e) => [e.reason, e.actor])).toEqual([['password-changed', 'cli']]);
    await s.close();
  });

  it('sets and clears a password', async () => {
    await tessera('users', 'add', '--email', 'd@example.com');
    secret = 'another good password';
    let s = await stores();
    const user = (await s.users.findByEmail('d@example.com'))!;
    const now = Math.floor(Date.now() / 1000);
    await s.sessions.create(createSessionRecord({ userId: user.id, ip: null, userAgent: null, now }, { idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 43200, touchIntervalSeconds: 60 }).record);
    await s.close();
    expect(await tessera('users', 'passwd', '--email', 'd@example.com')).toBe(0);
    expect(output.at(-1)).toBe('password set for d@example.com; ended 1 session(s)');
    s = await stores();
    expect(await s.sessions.listByUser(user.id)).toEqual([]);
    expect(await verifyPassword((await s.users.findByEmail('d@example.com'))!.passwordHash!, 'another good password')).toBe(true);
    await s.close();
    expect(await tessera('users', 'passwd', '--email', 'd@example.com', '--clear')).toBe(0);
    s = await stores();
    expect((await s.users.findByEmail('d@example.com'))!.passwordHash).toBeNull();
    await s.close();
    expect(await tessera('users', 'passwd', '--email', 'nobody@example.com')).toBe(1);
    expect(errors.at(-1)).toMatch(/^tessera: ERR_USER_NOT_FOUND: /);
  });

  it('audits every user and key change it makes, with actor cli', async () => {
    await tessera('users', 'add', '--email', 'e@example.com', '--admin', '--password-stdin');
    await tessera('users', 'passwd', '--email', 'e@example.com', '--clear');
    await tessera('users', 'disable', '--email', 'e@example.com');
    await tessera('users', 'enable', '--email', 'e@example.com');
    await tessera('keys', 'list');
    await tessera('keys', 'rotate');
    const s = await stores();
    const user = (await s.users.findByEmail('e@example.com'))!;
    const events = (await s.audit.query({ actor: 'cli' }, { limit: 50 })).items.reverse();
    await s.close();
    expect(events.map((e) => [e.type, e.userId])).toEqual([
      ['user.created', user.id],
      ['user.updated', user.id],
      ['user.disabled', user.id],
      ['user.enabled', user.id],
      ['key.rotated', null],
    ]);
    expect(events[0]!.details).toEqual({ roles: 'admin', magicLinkOnly: false });
    expect(events[1]!.details).toEqual({ change: 'password-cleared' });
  });

  it('lists keys (generating the first), rotates and retires', async () => {
    // A rotation is audited in the database, which must exist first (test/cli/working-directory.test.ts).
    expect(await tessera('users', 'add', '--email', 'k@example.com')).toBe(0);
    output = [];
    expect(await tessera('keys', 'list')).toBe(0);
    const [header, first] = output[0]!.split('\n');
    expect(header).toMatch(/^KID\s+ALG\s+STATE/);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}\s+RS256\s+active/);
    const firstKid = first!.split(/\s+/)[0]!;
    output = [];
    expect(await tessera('keys', 'rotate')).toBe(0);
    expect(output[0]).toMatch(/^published [A-Za-z0-9_-]{43} as next; it signs from /);
    output = [];
    await tessera('keys', 'list');
    expect(output[0]!.split('\n')).toHaveLength(3);
    expect(await tessera('keys', 'retire', 'no-such-kid')).toBe(1);
    expect(errors[0]).toMatch(/^tessera: ERR_KEY_UNKNOWN: /);
    expect(await tessera('keys', 'retire', firstKid)).toBe(0);
  });
});
