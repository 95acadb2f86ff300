/**
 * Nothing secret reaches a log line (SECURITY.md: "one log line with a reason code (never the
 * token, never a password or secret)"): a password sign-in, a failed one, a beacon accepted and
 * one refused, with every line the hub writes captured and searched.
 */
import { hashPassword } from '../../src/users/password';
import { mintHandoff } from '../../src/core/tokens/handoff';
import { parseCookieValue } from '../../src/core/sessions/session';
import { Browser, HUB, SHOP, SHOP_HOST, formField, signedInSession, startHandoffHub, type HandoffHub } from './handoff-support';

describe('log lines carry no secrets', () => {
  let hub: HandoffHub;
  beforeAll(async () => {
    hub = await startHandoffHub();
  });
  afterAll(() => hub.close());

  it('never logs passwords, cookie secrets, CSRF tokens or handoff tokens', async () => {
    const password = 'a very secret password 123';
    await hub.deps.users.create({ email: 'ada@example.com', passwordHash: await hashPassword(password) });
    const browser = new Browser(hub.url);
    const sameOrigin = { origin: HUB, 'sec-fetch-site': 'same-origin' };
    const page = await browser.get(hub.ownHost, '/login');
    const csrf = formField(page.body, '_csrf');
    await browser.request(hub.ownHost, 'POST', '/login', { form: { _csrf: csrf, email: 'ada@example.com', password: 'wrong password 456' }, headers: sameOrigin });
    const ok = await browser.request(hub.ownHost, 'POST', '/login', { form: { _csrf: csrf, email: 'ada@example.com', password }, headers: sameOrigin });
    expect([200, 303]).toContain(ok.status);
    const hubCookie = browser.jar(hub.ownHost).get('__Host-tessera')!;
    const secret = parseCookieValue(hubCookie)!.secret;

    const session = await signedInSession(hub);
    const token = mintHandoff(hub.deps.keyring, { audience: SHOP, sid: session.record.sid, sub: session.user.id, src: 'hub.example.com' }, { clock: hub.clock, issuer: HUB });
    const accepted = await browser.get(SHOP_HOST, `/shared-session/${token}.js`, { referer: `${HUB}/` });
    expect(accepted.status).toBe(200);
    const siteCookie = [...browser.jar(SHOP_HOST).values()][0]!;
    const replay = await browser.get(SHOP_HOST, `/shared-session/${token}.js`, { referer: `${HUB}/` });
    expect(replay.status).toBe(400);
    const broken = `${token.slice(0, -10)}AAAAAAAAAA`;
    await browser.get(SHOP_HOST, `/shared-session/${broken}.js`, { referer: `${HUB}/` });

    const text = hub.logs.lines.map((l) => JSON.stringify(l)).join('\n');
    expect(hub.logs.lines.length).toBeGreaterThan(5);
    for (const forbidden of [password, 'wrong password 456', secret, hubCookie, csrf, token, broken, token.split('.')[2]!, siteCookie]) {
      expect(text).not.toContain(forbidden);
    }
    // The refusals are there, by code.
    expect(text).toContain('ERR_HANDOFF_REPLAYED');
    expect(text).toContain('ERR_HANDOFF_SIGNATURE');
  });
});
