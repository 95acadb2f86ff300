import { accountCreatedMessage, accountDeletedByAdminMessage, emailChangedMessage, emailChangeMessage, magicLinkMessage, newSignInMessage, passwordChangedMessage, passwordSetByAdminMessage, sessionsEndedByAdminMessage, twoStepResetByAdminMessage } from '../../src/mail/templates';

const at = new Date(Date.UTC(2025, 2, 1, 14, 5, 9));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('magicLinkMessage', () => {
  const link = 'https://login.example.com/login/magic?token=abc_DEF-123&return=1';

  it('puts the link and its lifetime in both parts', () => {
    const message = magicLinkMessage({ to: 'ada@example.com', link, expiresMinutes: 10 });
    expect(message.to).toBe('ada@example.com');
    expect(message.subject).toBe('Your sign-in link for Tessera');
    expect(message.text).toContain(`\n${link}\n`);
    expect(message.text).toContain('expires in 10 minutes');
    expect(message.html).toContain('<a href="https://login.example.com/login/magic?token=abc_DEF-123&amp;return=1">');
    expect(message.html).toContain('expires in 10 minutes');
  });

  it('says "1 minute" for one minute', () => {
    expect(magicLinkMessage({ to: 'a@b.com', link, expiresMinutes: 1 }).text).toContain('expires in 1 minute.');
  });

  it('escapes the product name in the HTML part', () => {
    const message = magicLinkMessage({ to: 'a@b.com', link, expiresMinutes: 10, product: 'Shop <b>"&"</b>' });
    expect(message.subject).toBe('Your sign-in link for Shop <b>"&"</b>');
    expect(message.html).toContain('Sign in to Shop &lt;b&gt;&quot;&amp;&quot;&lt;/b&gt;');
    expect(message.html).not.toContain('<b>');
  });

  it('escapes a quote in the link so it cannot leave the href attribute', () => {
    const message = magicLinkMessage({ to: 'a@b.com', link: 'https://login.example.com/m?t="onclick="x', expiresMinutes: 10 });
    expect(message.html).toContain('href="https://login.example.com/m?t=&quot;onclick=&quot;x"');
  });

  it('accepts an http link for local development', () => {
    expect(magicLinkMessage({ to: 'a@b.com', link: 'http://localhost:8080/m?t=x', expiresMinutes: 10 }).text).toContain('http://localhost:8080/m?t=x');
  });

  it.each([['javascript:alert(1)'], ['data:text/html,<script>x</script>'], ['/login/magic?token=x'], ['']])(
    'refuses the link %j with ERR_INTERNAL',
    (bad) => {
      expect(codeOf(() => magicLinkMessage({ to: 'a@b.com', link: bad, expiresMinutes: 10 }))).toBe('ERR_INTERNAL');
    },
  );
});

describe('newSignInMessage', () => {
  it('shows time in UTC, device and address', () => {
    const message = newSignInMessage({ to: 'ada@example.com', device: 'Firefox on Linux', ip: '203.0.113.9', at });
    expect(message.to).toBe('ada@example.com');
    expect(message.subject).toBe('New sign-in to Tessera');
    expect(message.text).toContain('Time:    2025-03-01 14:05 UTC');
    expect(message.text).toContain('Device:  Firefox on Linux');
    expect(message.text).toContain('Address: 203.0.113.9');
    expect(message.html).toContain('<td>2025-03-01 14:05 UTC</td>');
    expect(message.html).toContain('<td>Firefox on Linux</td>');
    expect(message.html).toContain('<td>203.0.113.9</td>');
  });

  it('escapes a hostile user agent in the HTML part', () => {
    const message = newSignInMessage({ to: 'a@b.com', device: '<img src=x onerror="alert(1)">', ip: null, at });
    expect(message.html).toContain('<td>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</td>');
    expect(message.html).not.toContain('<img');
  });

  it('says "unknown" when device or address are missing', () => {
    const message = newSignInMessage({ to: 'a@b.com', device: null, ip: null, at });
    expect(message.text).toContain('Device:  unknown device');
    expect(message.text).toContain('Address: unknown');
  });

  it('shortens a long user agent to 200 characters', () => {
    const message = newSignInMessage({ to: 'a@b.com', device: `${'x'.repeat(500)}`, ip: null, at });
    expect(message.text).toContain(`Device:  ${'x'.repeat(199)}…\n`);
  });
});

describe('sessionsEndedByAdminMessage', () => {
  it('says who ended the sessions and when', () => {
    const message = sessionsEndedByAdminMessage({ to: 'ada@example.com', scope: 'all', at, product: 'Example & Co' });
    expect(message.to).toBe('ada@example.com');
    expect(message.subject).toBe('You were signed out of Example & Co');
    expect(message.text).toContain('An administrator ended all of your Example & Co sessions at 2025-03-01 14:05 UTC.');
    expect(message.html).toContain('An administrator ended all of your Example &amp; Co sessions at 2025-03-01 14:05 UTC.');
    expect(message.text).toContain('You have been signed out everywhere');
  });

  it('says one session ended, not all, when an administrator ended a single session', () => {
    const message = sessionsEndedByAdminMessage({ to: 'ada@example.com', scope: 'one', at });
    expect(message.text).toContain('An administrator ended one of your Tessera sessions at 2025-03-01 14:05 UTC.');
    expect(message.text).toContain('your other sessions go on');
    expect(message.text).not.toContain('all of your');
    expect(message.text).not.toContain('everywhere');
    expect(message.html).not.toContain('everywhere');
  });
});

describe('passwordChangedMessage', () => {
  it('says whether the password was changed or set, with time, device and address', () => {
    const changed = passwordChangedMessage({ to: 'ada@example.com', set: false, device: 'Firefox on Linux', ip: '203.0.113.9', at });
    expect(changed.subject).toBe('Your Tessera password was changed');
    expect(changed.text).toContain('The password of your Tessera account was changed. Every other device was signed out.');
    expect(changed.text).toContain('Time:    2025-03-01 14:05 UTC');
    expect(changed.text).toContain('Address: 203.0.113.9');
    const set = passwordChangedMessage({ to: 'ada@example.com', set: true, device: null, ip: null, at });
    expect(set.subject).toBe('A password was set for your Tessera account');
    expect(set.text).toContain('A password was set for your Tessera account. Every other device was signed out.');
    expect(set.text).toContain('Device:  unknown device');
  });

  it('escapes a hostile device description in the HTML part', () => {
    const message = passwordChangedMessage({ to: 'a@b.com', set: false, device: '<script>x</script>', ip: null, at });
    expect(message.html).toContain('<td>&lt;script&gt;x&lt;/script&gt;</td>');
    expect(message.html).not.toContain('<script>');
  });
});

describe('accountCreatedMessage', () => {
  it('says where to sign in, and carries no sign-in link', () => {
    const message = accountCreatedMessage({ to: 'grace@example.com', loginUrl: 'https://hub.example.com/login' });
    expect(message.subject).toBe('An account on Tessera was created for you');
    expect(message.text).toContain('https://hub.example.com/login');
    expect(message.html).toContain('<a href="https://hub.example.com/login">Sign in to Tessera</a>');
    expect(message.text).not.toMatch(/token=/);
  });

  it('refuses a sign-in address that is not http(s)', () => {
    expect(codeOf(() => accountCreatedMessage({ to: 'a@b.com', loginUrl: 'javascript:alert(1)' }))).toBe('ERR_INTERNAL');
  });
});

describe('twoStepResetByAdminMessage', () => {
  it('says an administrator turned two-step sign-in off, and when', () => {
    const message = twoStepResetByAdminMessage({ to: 'ada@example.com', at });
    expect(message.subject).toBe('Two-step sign-in was turned off for your Tessera account');
    expect(message.text).toContain('An administrator turned off two-step sign-in for your Tessera account at 2025-03-01 14:05 UTC.');
    expect(message.html).toContain('If you did not ask for this, contact your administrator at once.');
  });
});

describe('accountDeletedByAdminMessage', () => {
  it('says an administrator deleted the account, when, and that every session ended', () => {
    const message = accountDeletedByAdminMessage({ to: 'ada@example.com', at });
    expect(message.to).toBe('ada@example.com');
    expect(message.subject).toBe('Your Tessera account was deleted');
    expect(message.text).toContain('An administrator deleted your Tessera account at 2025-03-01 14:05 UTC.\nYou were signed out everywhere');
    expect(message.html).toContain('<p>If you did not expect this, contact your administrator.</p>');
  });

  it('escapes the product name in the HTML part', () => {
    const message = accountDeletedByAdminMessage({ to: 'ada@example.com', at, product: '<b>Shop</b>' });
    expect(message.html).toContain('&lt;b&gt;Shop&lt;/b&gt;');
    expect(message.html).not.toContain('<b>');
  });
});

describe('passwordSetByAdminMessage', () => {
  it('says an administrator set a password, when, and whether every session ended', () => {
    const message = passwordSetByAdminMessage({ to: 'ada@example.com', cleared: false, signedOut: true, at });
    expect(message.to).toBe('ada@example.com');
    expect(message.subject).toBe('An administrator set a new password for your Tessera account');
    expect(message.text).toContain('An administrator set a new password for your Tessera account at 2025-03-01 14:05 UTC.\nYou were signed out everywhere.\n');
    expect(message.html).toContain('<p>If you did not ask for this, contact your administrator at once.</p>');
  });

  it('says the password was removed, and escapes the product name in the HTML part', () => {
    const message = passwordSetByAdminMessage({ to: 'ada@example.com', cleared: true, signedOut: false, at, product: '<b>Shop</b>' });
    expect(message.subject).toBe('An administrator removed the password of your <b>Shop</b> account');
    expect(message.text).toContain('You sign in with an e-mail link from now on.');
    expect(message.text).not.toContain('signed out');
    expect(message.html).toContain('&lt;b&gt;Shop&lt;/b&gt;');
    expect(message.html).not.toContain('<b>');
  });
});

describe('emailChangeMessage and emailChangedMessage', () => {
  it('sends the confirmation link to the new address, naming the old one', () => {
    const message = emailChangeMessage({ to: 'new@example.org', from: 'ada@example.com', link: 'https://hub.example.com/account/email/confirm?token=abc', expiresMinutes: 10 });
    expect(message.to).toBe('new@example.org');
    expect(message.text).toContain('the Tessera account of ada@example.com asked to use this address');
    expect(message.text).toContain('https://hub.example.com/account/email/confirm?token=abc');
    expect(message.text).toContain('expires in 10 minutes');
    expect(codeOf(() => emailChangeMessage({ to: 'a@b.com', from: 'c@d.com', link: 'javascript:alert(1)', expiresMinutes: 10 }))).toBe('ERR_INTERNAL');
  });

  it('tells the old address which one the account uses now', () => {
    const message = emailChangedMessage({ to: 'ada@example.com', newAddress: 'new@example.org', at });
    expect(message.subject).toBe('The e-mail address of your Tessera account was changed');
    expect(message.text).toContain('uses new@example.org instead of this address since 2025-03-01 14:05 UTC');
  });
});
