import { parseEmailAddress } from '../../../src/core/users/email-address';

function codeOf(input: string): string | undefined {
  try {
    parseEmailAddress(input);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('parseEmailAddress', () => {
  it.each([
    ['ada@example.com'],
    ['Ada.Lovelace@Example.COM'],
    ['first.last+tag@sub.example.co.uk'],
    ["o'brien@example.ie"],
    ["!#$%&'*+-/=?^_`{|}~@example.com"],
    ['user@localhost'],
    ['user@LOCALHOST'],
    ['x@a-b.example'],
    ['1@2.example'],
    ['jürgen@müller.example'],
    ['用户@例子.广告'],
    ['a@xn--mller-kva.example'],
  ])('accepts %s', (address) => {
    expect(parseEmailAddress(address)).toBe(address);
  });

  it('returns the address trimmed of surrounding white space, case kept', () => {
    expect(parseEmailAddress('  Ada@Example.com \t')).toBe('Ada@Example.com');
  });

  it('returns the address in Unicode NFC (RFC 6532 §3.1), never NFKC', () => {
    expect(parseEmailAddress('E\u0301lodie@exe\u0301mple.fr')).toBe('\u00c9lodie@ex\u00e9mple.fr');
    expect(parseEmailAddress('\u00c9lodie@ex\u00e9mple.fr')).toBe('\u00c9lodie@ex\u00e9mple.fr');
    expect(parseEmailAddress('a\u0302\u0323@x.io')).toBe('\u1ead@x.io');
    // A compatibility character is kept as it is: it may name another mailbox.
    expect(parseEmailAddress('\ufb01le@x.io')).toBe('\ufb01le@x.io');
  });

  it('measures the octet limits on the NFC form', () => {
    // 32 decomposed "é" are 96 octets, over the 64 of a local part; composed they are 64.
    const local = 'e\u0301'.repeat(32);
    expect(codeOf(`${local}@example.com`)).toBeUndefined();
    expect(parseEmailAddress(`${local}@example.com`)).toBe(`${'\u00e9'.repeat(32)}@example.com`);
    expect(codeOf(`${local}e\u0301@example.com`)).toBe('ERR_EMAIL_INVALID');
  });

  it('accepts exactly 254 octets with a 64-octet local part and 63-character labels', () => {
    const local = 'l'.repeat(64);
    const domain = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(61)}`;
    const address = `${local}@${domain}`;
    expect(address).toHaveLength(254);
    expect(parseEmailAddress(address)).toBe(address);
  });

  it.each([
    // header injection and white space
    ['CRLF and a Bcc header', 'a@b.com\r\nBcc: x@y.com'],
    ['LF inside', 'a@b.com\nx'],
    ['CR inside', 'a\r@b.com'],
    ['NUL', 'a\u0000@b.com'],
    ['tab inside', 'a\t@b.com'],
    ['space inside', 'a b@c.com'],
    ['no-break space', 'a\u00a0b@c.com'],
    ['line separator', 'a\u2028@b.com'],
    ['zero-width space', 'a\u200b@b.com'],
    ['right-to-left override', 'a\u202e@b.com'],
    ['DEL', 'a\u007f@b.com'],
    // the wider RFC 5322 grammar
    ['quoted local part', '"q"@x.com'],
    ['quote inside', 'a"b@x.com'],
    ['comment', 'a(comment)@b.com'],
    ['display name', 'Ada <ada@example.com>'],
    ['angle address', '<ada@example.com>'],
    ['group', 'g: a@b.com;'],
    ['group without spaces', 'g:a@b.com;'],
    ['list', 'a@b.com,c@d.com'],
    ['semicolon', 'a;b@c.com'],
    ['backslash', 'a\\b@c.com'],
    ['IPv4 literal', 'a@[127.0.0.1]'],
    ['IPv6 literal', 'a@[IPv6:::1]'],
    ['dotted IPv4 address as domain', 'a@127.0.0.1'],
    ['source route', '@a.com:b@c.com'],
    // shape
    ['empty', ''],
    ['only white space', '   '],
    ['no @', 'ada.example.com'],
    ['two @', 'a@b@c.com'],
    ['empty local part', '@b.com'],
    ['empty domain', 'a@'],
    ['domain without a dot', 'a@b'],
    ['leading dot in local part', '.a@b.com'],
    ['trailing dot in local part', 'a.@b.com'],
    ['double dot in local part', 'a..b@c.com'],
    ['leading dot in domain', 'a@.b.com'],
    ['trailing dot in domain', 'a@b.com.'],
    ['double dot in domain', 'a@b..com'],
    ['label starting with a hyphen', 'a@-b.com'],
    ['label ending with a hyphen', 'a@b-.com'],
    ['underscore in domain', 'a@b_c.com'],
    ['symbol in domain', 'a@b!c.com'],
    ['symbol outside atext', 'a§b@c.com'],
    // lengths
    ['65-octet local part', `${'l'.repeat(65)}@example.com`],
    ['33 two-octet characters in the local part', `${'ü'.repeat(33)}@example.com`],
    ['64-character label', `a@${'b'.repeat(64)}.com`],
    ['very long input', `${'a'.repeat(100_000)}@b.com`],
  ])('rejects %s with ERR_EMAIL_INVALID', (_name, address) => {
    expect(codeOf(address)).toBe('ERR_EMAIL_INVALID');
  });

  it('rejects 255 characters even when each part is within its limit', () => {
    const address = `${'l'.repeat(64)}@${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(62)}`;
    expect(address).toHaveLength(255);
    expect(codeOf(address)).toBe('ERR_EMAIL_INVALID');
    expect(codeOf(address.slice(1))).toBeUndefined();
  });

  it('answers 400 without echoing the address', () => {
    let error: { code?: string; status?: number; message?: string } = {};
    try {
      parseEmailAddress('secret-name@b');
    } catch (err) {
      error = err as typeof error;
    }
    expect(error).toMatchObject({ code: 'ERR_EMAIL_INVALID', status: 400 });
    expect(error.message).not.toContain('secret-name');
  });
});
