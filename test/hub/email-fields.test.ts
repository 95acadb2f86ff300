/**
 * The e-mail fields of the hub's forms, as the real hub serves them: a browser cuts what is typed
 * or pasted at `maxlength` (UTF-16 code units, the form as typed), so no field may be shorter than
 * the longest input that can still be an address within the limits in NFC, the form that is
 * checked and stored (src/core/users/email-address.ts).
 */
import { maxEmailInputLength, parseEmailAddress } from '../../src/core/users/email-address';
import { hashPassword } from '../../src/users/password';
import { CookieClient, csrfFrom } from '../support/client';
import { startTestHub, type TestHub } from '../support/hub';

const sameOrigin = { origin: 'https://hub.example.com', 'sec-fetch-site': 'same-origin' };
const password = 'correct horse battery staple';

/** The `maxlength` of every e-mail input of a page, by id. */
function emailFields(page: string): Record<string, number | null> {
  const fields: Record<string, number | null> = {};
  for (const [input] of page.matchAll(/<input\b[^>]*\btype="email"[^>]*>/g)) {
    const id = /\bid="([^"]+)"/.exec(input)![1]!;
    const max = /\bmaxlength="(\d+)"/.exec(input);
    fields[id] = max === null ? null : Number(max[1]);
  }
  return fields;
}

describe('e-mail fields', () => {
  let hub: TestHub;
  beforeEach(async () => {
    hub = await startTestHub();
    await hub.deps.users.create({ email: 'root@example.com', passwordHash: await hashPassword(password), roles: ['admin'] });
  });
  afterEach(() => hub.close());

  it('let through every address whose NFC form is within the limits, however long as typed', async () => {
    // "ǖ" typed decomposed (u, U+0308, U+0304): three code units; in NFC (U+01D6) one, of two octets.
    const label = 'u\u0308\u0304'.repeat(30);
    const typed = `aaaaaaaaaa@${[label, label, label, label].join('.')}`;
    expect(Buffer.byteLength(parseEmailAddress(typed))).toBe(254);
    expect(typed.length).toBeGreaterThan(254);

    const client = new CookieClient(hub.url);
    const login = await client.get('/login');
    expect((await client.post('/login', { _csrf: csrfFrom(login.body), email: 'root@example.com', password }, sameOrigin)).status).toBe(303);
    const pages = { login: login.body, emailChange: (await client.get('/account/email')).body, adminUsers: (await client.get('/admin/users')).body };

    expect({ login: emailFields(pages.login), emailChange: emailFields(pages.emailChange), adminUsers: emailFields(pages.adminUsers) }).toEqual({
      login: { 'pw-email': maxEmailInputLength, 'ml-email': maxEmailInputLength },
      emailChange: { 'new-email': maxEmailInputLength },
      adminUsers: { 'new-email': maxEmailInputLength },
    });
    expect(maxEmailInputLength).toBeGreaterThanOrEqual(typed.length);
  });
});
