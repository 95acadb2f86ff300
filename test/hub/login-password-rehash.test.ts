/**
 * A password hash made with older, weaker argon2 parameters is upgraded at the next successful
 * sign-in, while the plain password is at hand (src/users/password.ts); a failed attempt
 * changes nothing. Found in review; the test came first.
 */
import * as argon2 from 'argon2';
import { passwordNeedsRehash, verifyPassword } from '../../src/users/password';
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, type TestHub } from '../support/hub';

const sameOrigin = { origin: 'https://hub.example.com', 'sec-fetch-site': 'same-origin' };
const password = 'correct horse battery staple';

describe('password hash upgrade at sign-in', () => {
  let hub: TestHub;
  let weaker: string;
  beforeAll(async () => {
    hub = await startTestHub();
    // OWASP's minimum, as an older release might have stored it.
    weaker = await argon2.hash(password, { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    await hub.deps.users.create({ email: 'ada@example.com', passwordHash: weaker });
  });
  afterAll(() => hub.close());

  async function attempt(pw: string) {
    const client = new CookieClient(hub.url);
    const csrf = csrfFrom((await client.get('/login')).body);
    return client.post('/login', { _csrf: csrf, email: 'ada@example.com', password: pw }, sameOrigin);
  }

  it('keeps the old hash after a failed attempt and replaces it after a successful one', async () => {
    expect((await attempt('wrong password!')).status).toBe(401);
    expect((await hub.deps.users.findByEmail('ada@example.com'))!.passwordHash).toBe(weaker);

    expect((await attempt(password)).status).toBe(303);
    const stored = (await hub.deps.users.findByEmail('ada@example.com'))!.passwordHash!;
    expect(stored).not.toBe(weaker);
    expect(passwordNeedsRehash(stored)).toBe(false);
    expect(await verifyPassword(stored, password)).toBe(true);
    expect((await attempt(password)).status).toBe(303);
  });
});
