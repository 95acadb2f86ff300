/**
 * The real `tessera admin-tokens …`, `sessions …`, `audit tail` and `outbox …` commands against
 * a SQLite file in a temp directory, with output captured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { nowSeconds, systemClock } from '../../src/core/clock';
import { loadConfig } from '../../src/config/load';
import { createSessionRecord } from '../../src/core/sessions/session';
import { silentLogger } from '../../src/log/logger';
import type { SessionRecord, UserRecord } from '../../src/ports';
import { openStores, type OpenedStores } from '../../src/stores/open';
import { readMessage, startSmtpServer } from '../support/smtp';

const policy = { idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 43200, touchIntervalSeconds: 60 };
const shop = 'https://shop.example.com';

describe('tessera admin commands', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let output: string[];
  let errors: string[];
  let s: OpenedStores;
  let ada: UserRecord;
  let adaSessions: SessionRecord[];
  let bobSession: SessionRecord;

  const io = (): CliIo => ({ out: (t) => output.push(t), err: (t) => errors.push(t), readSecret: async () => '', env });
  const tessera = (...args: string[]) => run(['node', 'tessera', ...args], io());

  async function newSession(user: UserRecord, ip: string, sites: string[] = []): Promise<SessionRecord> {
    const now = nowSeconds(systemClock);
    const { record } = createSessionRecord({ userId: user.id, ip, userAgent: 'Firefox', now }, policy);
    await s.sessions.create(record);
    for (const site of sites) await s.sessions.linkSite(record.sid, { site, linkedAt: now, src: site, secretHash: null, projectionKey: null });
    return record;
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-cli-admin-'));
    env = {
      TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}`,
      TESSERA_KEYS_DIR: join(dir, 'keys'),
      TESSERA_LOG_LEVEL: 'silent',
      TESSERA_SITES: JSON.stringify([{ origin: shop, backchannelLogoutUri: `${shop}/backchannel-logout` }]),
    };
    output = [];
    errors = [];
    s = await openStores(loadConfig({ env }).config, systemClock, silentLogger());
    ada = await s.users.create({ email: 'ada@example.com' });
    const bob = await s.users.create({ email: 'bob@example.com' });
    adaSessions = [await newSession(ada, '192.0.2.1', [shop]), await newSession(ada, '192.0.2.2')];
    bobSession = await newSession(bob, '192.0.2.3');
  });
  afterEach(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a scoped token that authenticates, lists it without the secret, and revokes it', async () => {
    expect(await tessera('admin-tokens', 'create', '--name', 'monitoring', '--scope', 'sessions:read', '--scope', 'audit:read', '--expires-in-days', '30')).toBe(0);
    const token = output[2]!;
    expect(token).toMatch(/^tsa_[A-Za-z0-9_-]{43}$/);
    const record = await s.adminTokens.authenticate(token, nowSeconds(systemClock));
    expect(record).toMatchObject({ name: 'monitoring', scopes: ['sessions:read', 'audit:read'], createdBy: 'cli' });
    expect(record!.expiresAt! - nowSeconds(systemClock)).toBeGreaterThan(29 * 86400);
    output = [];
    expect(await tessera('admin-tokens', 'list')).toBe(0);
    expect(output[0]).toContain(record!.id);
    expect(output[0]).toMatch(/monitoring\s+sessions:read,audit:read\s+active/);
    expect(output[0]).not.toContain(token.slice(4));
    expect(await tessera('admin-tokens', 'revoke', record!.id)).toBe(0);
    expect(await s.adminTokens.authenticate(token, nowSeconds(systemClock))).toBeNull();
    expect(await tessera('admin-tokens', 'revoke', record!.id)).toBe(1);
    expect(errors.at(-1)).toMatch(/^tessera: ERR_NOT_FOUND: /);
  });

  it('refuses a token without a scope or with an unknown one', async () => {
    expect(await tessera('admin-tokens', 'create', '--name', 'x')).toBe(1);
    expect(await tessera('admin-tokens', 'create', '--name', 'x', '--scope', 'everything')).toBe(1);
    expect(errors).toEqual([expect.stringMatching(/^tessera: ERR_BAD_REQUEST: /), expect.stringMatching(/^tessera: ERR_BAD_REQUEST: unknown scope everything/)]);
    expect(await s.adminTokens.list()).toEqual([]);
  });

  it('lists sessions by user and site, and shows one', async () => {
    expect(await tessera('sessions', 'list', '--user', 'ADA@example.com')).toBe(0);
    const table = output[0]!.split('\n');
    expect(table[0]).toMatch(/^SID\s+USER\s+IP/);
    expect(table.slice(1).map((l) => l.split(/\s+/)[0]).sort()).toEqual(adaSessions.map((x) => x.sid).sort());
    output = [];
    expect(await tessera('sessions', 'list', '--site', shop)).toBe(0);
    expect(output[0]!.split('\n').slice(1).map((l) => l.split(/\s+/)[0])).toEqual([adaSessions[0]!.sid]);
    output = [];
    expect(await tessera('sessions', 'show', adaSessions[0]!.sid)).toBe(0);
    expect(output[0]).toContain('ada@example.com');
    expect(output[0]).toContain('192.0.2.1');
    expect(output[0]).toContain(shop);
    expect(await tessera('sessions', 'show', 'AAAAAAAAAAAAAAAAAAAAAA')).toBe(1);
    expect(errors.at(-1)).toMatch(/^tessera: ERR_NOT_FOUND: /);
    // A base64url id may start with '-': it is an id, not an option (commander would otherwise
    // stop with "unknown option" before the command ran).
    for (const args of [['sessions', 'show'], ['sessions', 'revoke'], ['admin-tokens', 'revoke']]) {
      errors.length = 0;
      expect(await tessera(...args, '-AAAAAAAAAAAAAAAAAAAAA')).toBe(1);
      expect(errors).toEqual([expect.stringMatching(/^tessera: ERR_NOT_FOUND: /)]);
    }
  });

  it('revokes one session and all of a user through the revocation operation (actor cli)', async () => {
    expect(await tessera('sessions', 'revoke', adaSessions[0]!.sid)).toBe(0);
    expect(await s.sessions.get(adaSessions[0]!.sid)).toBeNull();
    expect(await s.sessions.get(adaSessions[1]!.sid)).not.toBeNull();
    expect((await s.outbox.list({}, { limit: 10 })).items).toEqual([expect.objectContaining({ site: shop, sid: adaSessions[0]!.sid, status: 'pending' })]);
    expect(await tessera('sessions', 'revoke', '--user', 'ada@example.com')).toBe(0);
    expect(output.at(-1)).toBe(`ended 1 session(s): ${adaSessions[1]!.sid}`);
    expect(await s.sessions.listByUser(ada.id)).toEqual([]);
    expect(await s.sessions.get(bobSession.sid)).not.toBeNull();
    const events = await s.audit.query({ type: 'session.revoked' }, { limit: 10 });
    expect(events.items.map((e) => [e.sid, e.actor])).toEqual([
      [adaSessions[1]!.sid, 'cli'],
      [adaSessions[0]!.sid, 'cli'],
    ]);
    expect(await tessera('sessions', 'revoke')).toBe(1);
    expect(errors.at(-1)).toMatch(/^tessera: ERR_BAD_REQUEST: /);
  });

  it('with admin.notifyOnRevoke on, tells the owner their sessions ended, as the admin UI and API do', async () => {
    const smtp = await startSmtpServer();
    try {
      Object.assign(env, {
        TESSERA_ADMIN_NOTIFY_REVOKE: 'true',
        TESSERA_MAIL_TRANSPORT: 'smtp',
        TESSERA_SMTP_HOST: '127.0.0.1',
        TESSERA_SMTP_PORT: String(smtp.port),
        TESSERA_SMTP_REQUIRE_TLS: 'false',
      });
      expect(await tessera('sessions', 'revoke', adaSessions[0]!.sid)).toBe(0);
      expect(await tessera('sessions', 'revoke', '--user', 'bob@example.com')).toBe(0);
      expect(smtp.messages.map((m) => m.to)).toEqual([['ada@example.com'], ['bob@example.com']]);
      // One session ended: the notice says one, not all (the person's other sessions go on).
      expect(readMessage(smtp.messages[0]!.raw).text).toContain('An administrator ended one of your Tessera sessions at ');
      expect(readMessage(smtp.messages[1]!.raw).text).toContain('An administrator ended all of your Tessera sessions at ');

      // The sessions end whatever the mail server does; the command says the person was not told.
      const down = createServer();
      await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
      env.TESSERA_SMTP_PORT = String((down.address() as AddressInfo).port);
      await new Promise<void>((resolve) => down.close(() => resolve()));
      expect(await tessera('sessions', 'revoke', '--user', 'ada@example.com')).toBe(1);
      expect(output.at(-1)).toBe(`ended 1 session(s): ${adaSessions[1]!.sid}`);
      expect(errors.at(-1)).toBe('tessera: ERR_MAIL_SEND_FAILED: the e-mail telling ada@example.com could not be sent: tell them another way');
      expect(await s.sessions.listByUser(ada.id)).toEqual([]);
    } finally {
      await smtp.close();
    }
  });

  it('purges expired sessions', async () => {
    expect(await tessera('sessions', 'purge')).toBe(0);
    expect(output[0]).toBe('purged 0 expired session(s)');
  });

  it('tails the audit log filtered by type and user, and follows new events', async () => {
    await s.audit.append({ type: 'login.success', actor: ada.id, userId: ada.id, ip: '192.0.2.1' });
    await s.audit.append({ type: 'login.failure', reason: 'ERR_LOGIN_FAILED' });
    await s.audit.append({ type: 'logout', actor: ada.id, userId: ada.id });
    expect(await tessera('audit', 'tail', '--user', 'ada@example.com')).toBe(0);
    expect(output.map((l) => l.split(' ')[2])).toEqual(['login.success', 'logout']);
    output = [];
    expect(await tessera('audit', 'tail', '--type', 'login.failure')).toBe(0);
    expect(output).toEqual([expect.stringMatching(/^#2 \S+ login\.failure reason=ERR_LOGIN_FAILED$/)]);
    output = [];
    const following = tessera('audit', 'tail', '-n', '1', '--follow', '--follow-seconds', '2', '--type', 'logout', '--type', 'login.success');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await s.audit.append({ type: 'login.failure', reason: 'ERR_LOGIN_FAILED' });
    await s.audit.append({ type: 'login.success', actor: ada.id, userId: ada.id });
    expect(await following).toBe(0);
    expect(output.map((l) => l.split(' ').slice(0, 1).concat(l.split(' ')[2]!).join(' '))).toEqual(['#3 logout', '#5 login.success']);
  });

  it('tails dropped back-channel logouts by their type', async () => {
    await s.audit.append({ type: 'outbox.dropped', actor: 'system', sid: bobSession.sid, site: shop, reason: 'admin', details: { delivery: 'd-1', why: 'site not configured' } });
    expect(await tessera('audit', 'tail', '--type', 'outbox.dropped')).toBe(0);
    expect(output).toEqual([expect.stringMatching(/^#\d+ \S+ outbox\.dropped actor=system sid=\S+ site=\S+ reason=admin \{"delivery":"d-1","why":"site not configured"\}$/)]);
  });

  it('lists the outbox and retries a failed delivery', async () => {
    await s.outbox.enqueue([{ site: shop, uri: `${shop}/backchannel-logout`, sid: bobSession.sid, sub: null, reason: 'admin' }]);
    const now = nowSeconds(systemClock);
    const [claimed] = await s.outbox.claim(now, 1, 'w', 30);
    await s.outbox.fail(claimed!.id, 'w', now, 'HTTP 503', null);
    expect(await tessera('outbox', 'list', '--status', 'failed')).toBe(0);
    expect(output[0]).toMatch(new RegExp(`^${claimed!.id}\\s+failed\\s+${shop}`, 'm'));
    expect(output[1]).toMatch(/^pending 0, failed 1,/);
    expect(await tessera('outbox', 'retry', claimed!.id)).toBe(0);
    expect((await s.outbox.stats()).pending).toBe(1);
    expect(await tessera('outbox', 'retry', claimed!.id)).toBe(1);
    expect(errors.at(-1)).toMatch(/^tessera: ERR_NOT_FOUND: /);
    expect(await tessera('outbox', 'list', '--status', 'lost')).toBe(1);
  });
});
