/**
 * A password sign-in whose check overlaps a change to the account: the user is read before the
 * (slow) argon2 check, so two-step sign-in turned on, or the account disabled, in the meantime
 * must still count, and so must a change made while the new session is being stored. The
 * change is made from inside the store call, deterministically.
 */
import { generate } from 'otplib';
import { nowSeconds } from '../../src/core/clock';
import { parseCookieValue } from '../../src/core/sessions/session';
import type { UserRecord } from '../../src/ports';
import { hashPassword } from '../../src/users/password';
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, type TestHub } from '../support/hub';
import { runOnce } from '../support/interleave';

const sameOrigin = { origin: 'https://hub.example.com', 'sec-fetch-site': 'same-origin' };
const password = 'correct horse battery staple';
const hidden = (body: string, name: string): string => new RegExp(`name="${name}" value="([^"]*)"`).exec(body)![1]!;

describe('a password sign-in racing a change to the account', () => {
  let hub: TestHub;
  let ada: UserRecord;
  beforeEach(async () => {
    hub = await startTestHub();
    ada = await hub.deps.users.create({ email: 'ada@example.com', passwordHash: await hashPassword(password) });
  });
  afterEach(() => hub.close());

  /** Signs in with Ada's password while `meanwhile` runs right after the login route looked her up. */
  async function signInDuring(meanwhile: () => Promise<void>) {
    runOnce(hub.deps.users, 'findByEmail', 'after', meanwhile);
    const client = new CookieClient(hub.url);
    const page = await client.get('/login');
    const res = await client.post('/login', { _csrf: csrfFrom(page.body), email: 'ada@example.com', password }, sameOrigin);
    const sid = parseCookieValue(client.cookies.get('__Host-tessera'))?.sid ?? null;
    return { res, sid };
  }

  it('holds the sign-in for a code when two-step sign-in was turned on meanwhile', async () => {
    const owner = new CookieClient(hub.url);
    const login = await owner.get('/login');
    await owner.post('/login', { _csrf: csrfFrom(login.body), email: 'ada@example.com', password }, sameOrigin);
    const page = await owner.get('/account/two-step');
    const secret = hidden(page.body, 'secret');
    const { res, sid } = await signInDuring(async () => {
      const code = await generate({ secret, epoch: nowSeconds(hub.clock) });
      expect((await owner.post('/account/two-step/enable', { _csrf: csrfFrom(page.body), secret, code, current_password: password }, sameOrigin)).status).toBe(200);
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login/code');
    expect(sid).toBeNull();
    expect((await hub.deps.sessions.listByUser(ada.id)).map((s) => s.sid)).toEqual([parseCookieValue(owner.cookies.get('__Host-tessera'))!.sid]);
  });

  it('refuses the sign-in when the account was disabled meanwhile', async () => {
    const { res, sid } = await signInDuring(async () => {
      await hub.deps.users.setDisabled(ada.id, true);
    });
    expect(res.status).toBe(401);
    expect(sid).toBeNull();
    expect(await hub.deps.sessions.listByUser(ada.id)).toEqual([]);
  });

  /** Signs in with Ada's password while `meanwhile` runs right after her new session was stored. */
  async function signInStoring(meanwhile: () => Promise<void>) {
    runOnce(hub.deps.sessions, 'create', 'after', meanwhile);
    const client = new CookieClient(hub.url);
    const page = await client.get('/login');
    const res = await client.post('/login', { _csrf: csrfFrom(page.body), email: 'ada@example.com', password }, sameOrigin);
    return { res, sid: parseCookieValue(client.cookies.get('__Host-tessera'))?.sid ?? null };
  }

  it('ends the new session when two-step sign-in was turned on while it was being stored', async () => {
    const { res, sid } = await signInStoring(async () => {
      await hub.deps.users.setTotp(ada.id, { secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', recoveryCodeHashes: [] });
    });
    expect(res.status).toBe(401);
    expect(sid).toBeNull();
    expect(await hub.deps.sessions.listByUser(ada.id)).toEqual([]);
  });

  it('ends the new session when the account was disabled while it was being stored', async () => {
    const { res, sid } = await signInStoring(async () => {
      await hub.deps.users.setDisabled(ada.id, true);
    });
    expect(res.status).toBe(401);
    expect(sid).toBeNull();
    expect(await hub.deps.sessions.listByUser(ada.id)).toEqual([]);
  });
});
