/**
 * The real `tessera users …` and `tessera keys …` commands against a SQLite file in a temp
 * directory, with standard input and output captured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
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
    env = { TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}`, TESSERA_KEYS_DIR: join(dir, 'keys'), TESSERA_LOG_LEVEL: 'silent' };
    output = [];
    errors = [];
    secret = 'a long enough password';
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function stores() {
    return openStores(loadConfig({ env }).config, systemClock, silentLogger());
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
    expect(errors[0]).toMatch(/^tessera: ERR_USER_NOT_FOUND: /);
  });

  it('audits every user and key change it makes, with actor cli', async () => {
    await tessera('users', 'add', '--email', 'e@example.com', '--admin', '--password-stdin');
    await tessera('users', 'passwd', '--email', 'e@example.com', '--clear');
    await tessera('users', 'disable', '--email', 'e@example.com');
    await tessera('users', 'enable', '--email', 'e@example.com');
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
