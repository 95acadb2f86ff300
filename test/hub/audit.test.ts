/**
 * The audit log records sign-ins (success, failure with reason) and handoffs (accepted,
 * rejected with the reason code), without secrets.
 */
import { mintHandoff } from '../../src/core/tokens/handoff';
import { hashPassword } from '../../src/users/password';
import type { AuditEvent } from '../../src/ports';
import { Browser, HUB, SHOP, SHOP_HOST, formField, signedInSession, startHandoffHub, type HandoffHub } from './handoff-support';

async function events(hub: HandoffHub, type: AuditEvent['type'], count: number): Promise<AuditEvent[]> {
  // Audit writes do not hold the answer up: wait for them briefly.
  for (let i = 0; i < 100; i += 1) {
    const page = await hub.deps.audit.query({ type }, { limit: 50 });
    if (page.items.length >= count) return page.items;
    await new Promise((r) => setTimeout(r, 10));
  }
  return (await hub.deps.audit.query({ type }, { limit: 50 })).items;
}

describe('audit log of sign-ins and handoffs', () => {
  let hub: HandoffHub;
  beforeAll(async () => {
    hub = await startHandoffHub();
  });
  afterAll(() => hub.close());

  it('records a failed and a successful password sign-in', async () => {
    const password = 'correct horse battery staple';
    const user = await hub.deps.users.create({ email: 'ada@example.com', passwordHash: await hashPassword(password) });
    const browser = new Browser(hub.url);
    const sameOrigin = { origin: HUB, 'sec-fetch-site': 'same-origin' };
    const csrf = formField((await browser.get(hub.ownHost, '/login')).body, '_csrf');
    await browser.request(hub.ownHost, 'POST', '/login', { form: { _csrf: csrf, email: 'ada@example.com', password: 'wrong password!' }, headers: sameOrigin });
    await browser.request(hub.ownHost, 'POST', '/login', { form: { _csrf: csrf, email: 'ada@example.com', password }, headers: sameOrigin });
    const [failure] = await events(hub, 'login.failure', 1);
    expect(failure).toMatchObject({ userId: user.id, reason: 'bad-password', details: { method: 'password' } });
    const [success] = await events(hub, 'login.success', 1);
    expect(success).toMatchObject({ userId: user.id, actor: `user:${user.id}`, details: { method: 'password' } });
    expect(JSON.stringify([failure, success])).not.toContain(password);
  });

  it('records an accepted handoff and a rejected one with its reason code, never the token', async () => {
    const session = await signedInSession(hub);
    const token = mintHandoff(hub.deps.keyring, { audience: SHOP, sid: session.record.sid, sub: session.user.id, src: 'hub.example.com' }, { clock: hub.clock, issuer: HUB });
    const browser = new Browser(hub.url);
    expect((await browser.get(SHOP_HOST, `/shared-session/${token}.js`, { referer: `${HUB}/` })).status).toBe(200);
    expect((await browser.get(SHOP_HOST, `/shared-session/${token}.js`, { referer: `${HUB}/` })).status).toBe(400);
    const [accepted] = await events(hub, 'handoff.accepted', 1);
    expect(accepted).toMatchObject({ sid: session.record.sid, userId: session.user.id, site: SHOP, details: { via: 'beacon', src: 'hub.example.com' } });
    const [rejected] = await events(hub, 'handoff.rejected', 1);
    expect(rejected).toMatchObject({ site: SHOP, reason: 'ERR_HANDOFF_REPLAYED', details: { via: 'beacon' } });
    expect(JSON.stringify([accepted, rejected])).not.toContain(token.split('.')[2]!);
  });
});
