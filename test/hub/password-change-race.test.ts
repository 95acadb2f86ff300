/**
 * A password sign-in racing a change of that password. A change ends every other session of
 * the person, so a sign-in that proved the old password must not end with a session that
 * outlives the change: it is refused whether the change lands during the argon2 check or while
 * the new session is being stored, and a pending two-step sign-in started with the old password
 * is given up. A sign-in that only upgraded the hash of the same password (newer argon2
 * parameters) is no change: it refuses nobody, and it never undoes a real change. The changes
 * are made from inside store calls, deterministically.
 */
import * as argon2 from 'argon2';
import { generate } from 'otplib';
import { nowSeconds } from '../../src/core/clock';
import { parseCookieValue } from '../../src/core/sessions/session';
import { revokeUserSessions } from '../../src/hub/revocation/revoke';
import type { UserRecord } from '../../src/ports';
import { hashPassword, passwordNeedsRehash, verifyPassword } from '../../src/users/password';
import { CookieClient, csrfFrom } from '../support/client';
import { runOnce } from '../support/interleave';
import { startTestHub, type TestHub } from '../support/hub';

const sameOrigin = { origin: 'https://hub.example.com', 'sec-fetch-site': 'same-origin' };
const oldPassword = 'correct horse battery staple';
const newPassword = 'a new and different passphrase';

describe('a password sign-in racing a change of the password', () => {
  let hub: TestHub;
  let ada: UserRecord;
  beforeEach(async () => {
    hub = await startTestHub();
    ada = await hub.deps.users.create({ email: 'ada@example.com', passwordHash: await hashPassword(oldPassword) });
  });
  afterEach(() => hub.close());

  async function signIn(client: CookieClient, password = oldPassword) {
    const page = await client.get('/login');
    return client.post('/login', { _csrf: csrfFrom(page.body), email: 'ada@example.com', password }, sameOrigin);
  }

  const sidOf = (client: CookieClient): string | null => parseCookieValue(client.cookies.get('__Host-tessera'))?.sid ?? null;

  /** What `tessera users passwd` does: the new hash, then every session of the person ends. */
  async function passwdFromCli(password: string): Promise<void> {
    await hub.deps.users.setPasswordHash(ada.id, await hashPassword(password));
    await revokeUserSessions(hub.deps, ada.id, 'password-changed', 'cli');
  }

  /** Runs `meanwhile` once, right after the login route looked Ada up (before the argon2 check). */
  function duringCheck(meanwhile: () => Promise<void>): void {
    runOnce(hub.deps.users, 'findByEmail', 'after', meanwhile);
  }

  it('refuses a sign-in with the old password when the person changed it on the account page during the check', async () => {
    const owner = new CookieClient(hub.url);
    expect((await signIn(owner)).status).toBe(303);
    const form = await owner.get('/account/password');
    duringCheck(async () => {
      const changed = await owner.post('/account/password', { _csrf: csrfFrom(form.body), current_password: oldPassword, new_password: newPassword, confirm_password: newPassword }, sameOrigin);
      expect(changed.status).toBe(303);
    });
    const attacker = new CookieClient(hub.url);
    const res = await signIn(attacker);
    expect(res.status).toBe(401);
    expect(sidOf(attacker)).toBeNull();
    expect((await hub.deps.sessions.listByUser(ada.id)).map((s) => s.sid)).toEqual([sidOf(owner)]);
  });

  it('ends the new session when `users passwd` changed the password while the session was being stored', async () => {
    // The change (and its revocation) lands after the sign-in's last look before the session
    // exists, and before the session is there for the revocation to find.
    runOnce(hub.deps.sessions, 'create', 'before', () => passwdFromCli(newPassword));
    const attacker = new CookieClient(hub.url);
    const res = await signIn(attacker);
    expect(res.status).toBe(401);
    expect(sidOf(attacker)).toBeNull();
    expect(await hub.deps.sessions.listByUser(ada.id)).toEqual([]);
    const revoked = (await hub.deps.audit.query({ type: 'session.revoked' }, { limit: 10 })).items;
    expect(revoked.map((event) => event.reason)).toEqual(['password-changed']);
  });

  it('gives up a pending two-step sign-in started with the old password', async () => {
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    await hub.deps.users.setTotp(ada.id, { secret, recoveryCodeHashes: [] });
    const attacker = new CookieClient(hub.url);
    const first = await signIn(attacker);
    expect(first.headers.get('location')).toBe('/login/code');
    await passwdFromCli(newPassword);
    const page = await attacker.get('/login/code');
    const res = await attacker.post('/login/code', { _csrf: csrfFrom(page.body), code: await generate({ secret, epoch: nowSeconds(hub.clock) }) }, sameOrigin);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login');
    expect(sidOf(attacker)).toBeNull();
    expect(await hub.deps.sessions.listByUser(ada.id)).toEqual([]);
  });

  describe('with a hash made with older argon2 parameters', () => {
    let weaker: string;
    beforeEach(async () => {
      // OWASP's minimum, as an older release might have stored it.
      weaker = await argon2.hash(oldPassword, { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
      await hub.deps.users.setPasswordHash(ada.id, weaker);
    });

    it('lets a sign-in through although another sign-in upgraded the hash during its check', async () => {
      const other = new CookieClient(hub.url);
      duringCheck(async () => {
        expect((await signIn(other)).status).toBe(303);
      });
      const client = new CookieClient(hub.url);
      const res = await signIn(client);
      expect(res.status).toBe(303);
      const stored = (await hub.deps.users.findById(ada.id))!.passwordHash!;
      expect(stored).not.toBe(weaker);
      expect(passwordNeedsRehash(stored)).toBe(false);
      expect((await hub.deps.sessions.listByUser(ada.id)).map((s) => s.sid).sort()).toEqual([sidOf(other), sidOf(client)].sort());
    });

    it('does not undo a password change made during the check by upgrading the old one', async () => {
      duringCheck(() => passwdFromCli(newPassword));
      const attacker = new CookieClient(hub.url);
      expect((await signIn(attacker)).status).toBe(401);
      const stored = (await hub.deps.users.findById(ada.id))!.passwordHash!;
      expect(await verifyPassword(stored, newPassword)).toBe(true);
      expect(await verifyPassword(stored, oldPassword)).toBe(false);
      expect(await hub.deps.sessions.listByUser(ada.id)).toEqual([]);
    });
  });
});
