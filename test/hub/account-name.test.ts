/** `POST /account/name`: changing one's display name, against a real server. */
import { hashPassword } from '../../src/users/password';
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, type TestHub } from '../support/hub';

const sameOrigin = { origin: 'https://hub.example.com', 'sec-fetch-site': 'same-origin' };
const password = 'correct horse battery staple';

describe('changing the display name', () => {
  let hub: TestHub;
  let client: CookieClient;
  let csrf: string;
  beforeEach(async () => {
    hub = await startTestHub();
    await hub.deps.users.create({ email: 'ada@example.com', name: 'Ada', passwordHash: await hashPassword(password) });
    client = new CookieClient(hub.url);
    const page = await client.get('/login');
    expect((await client.post('/login', { _csrf: csrfFrom(page.body), email: 'ada@example.com', password }, sameOrigin)).status).toBe(303);
    csrf = csrfFrom((await client.get('/account')).body);
  });
  afterEach(() => hub.close());

  const stored = async () => (await hub.deps.users.findByEmail('ada@example.com'))!.name;

  it('saves a trimmed name, shows it, audits it, and clears it when empty', async () => {
    const res = await client.post('/account/name', { _csrf: csrf, name: '  Ada Lovelace <3 ' }, sameOrigin);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/account?name=changed');
    expect(await stored()).toBe('Ada Lovelace <3');
    const account = await client.get('/account?name=changed');
    expect(account.body).toContain('value="Ada Lovelace &lt;3"');
    expect(account.body).toContain('Your name is saved.');
    const [event] = (await hub.deps.audit.query({ type: 'user.updated' }, { limit: 5 })).items;
    expect(event!.details).toEqual({ change: 'name' });
    expect((await client.post('/account/name', { _csrf: csrf, name: '   ' }, sameOrigin)).status).toBe(303);
    expect(await stored()).toBeNull();
  });

  it.each([
    ['a name longer than 200 characters', 'x'.repeat(201)],
    ['a line break', 'Ada\nBcc: someone'],
    ['a control character', 'Ada\u0007'],
    ['a right-to-left override', 'Ada\u202Egnp.exe'],
  ])('refuses %s with 400 and keeps the old name', async (_name, name) => {
    const res = await client.post('/account/name', { _csrf: csrf, name }, sameOrigin);
    expect(res.status).toBe(400);
    expect(res.body).toContain('at most 200 characters, on one line, without control characters');
    expect(await stored()).toBe('Ada');
  });

  it('refuses a POST without the CSRF token, from another site, or without a session', async () => {
    expect((await client.post('/account/name', { name: 'Eve' }, sameOrigin)).status).toBe(403);
    expect((await client.post('/account/name', { _csrf: csrf, name: 'Eve' }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const stranger = new CookieClient(hub.url);
    const strangerCsrf = csrfFrom((await stranger.get('/login')).body);
    expect((await stranger.post('/account/name', { _csrf: strangerCsrf, name: 'Eve' }, sameOrigin)).status).toBe(401);
    expect(await stored()).toBe('Ada');
  });
});
