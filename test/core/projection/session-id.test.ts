import fc from 'fast-check';
import { formatProjectedCookieValue, parseProjectedCookieValue } from '../../../src/core/projection/session-id';
import { newSecret, newSessionId } from '../../../src/core/sessions/session';

/** ext/session's php_session_valid_key (PHP 8): 1 to 256 characters of [A-Za-z0-9,-]. */
const phpAcceptsAsSessionId = (id: string): boolean => /^[A-Za-z0-9,-]{1,256}$/.test(id);
/** RFC 6265 §4.1.1 cookie-octet. */
const isCookieValue = (value: string): boolean => /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/.test(value);

describe('the projected site cookie value', () => {
  it('is a session id PHP accepts and a plain cookie value, and parses back to the same sid and secret', () => {
    for (let i = 0; i < 200; i += 1) {
      const sid = newSessionId();
      const secret = newSecret();
      const value = formatProjectedCookieValue(sid, secret);
      expect(value).toMatch(/^[0-9a-f]{32}-[0-9a-f]{64}$/);
      expect(phpAcceptsAsSessionId(value)).toBe(true);
      expect(isCookieValue(value)).toBe(true);
      expect(parseProjectedCookieValue(value)).toEqual({ sid, secret });
    }
  });

  it('holds ids with every base64url character, "_" and "-" included', () => {
    const sid = `${'_'.repeat(11)}${'-'.repeat(10)}A`;
    const secret = `${'-'.repeat(21)}${'_'.repeat(21)}A`;
    expect(parseProjectedCookieValue(formatProjectedCookieValue(sid, secret))).toEqual({ sid, secret });
  });

  it('has exactly one form per session: anything else parses to null', () => {
    const value = formatProjectedCookieValue(newSessionId(), newSecret());
    for (const other of [
      value.toUpperCase(),
      value.replace('-', '.'),
      value.replace('-', ''),
      `${value}0`,
      value.slice(1),
      ` ${value}`,
      `${value.slice(0, 32)}-${value.slice(33).replace(/^./, 'g')}`,
      `${newSessionId()}.${newSecret()}`,
      '',
    ]) {
      expect(parseProjectedCookieValue(other)).toBeNull();
    }
    expect(parseProjectedCookieValue(undefined)).toBeNull();
  });

  it('parses nothing it would not write itself', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (text) => {
        const parsed = parseProjectedCookieValue(text);
        return parsed === null || formatProjectedCookieValue(parsed.sid, parsed.secret) === text;
      }),
    );
  });

  it('refuses to format what is not an issued sid and secret', () => {
    expect(() => formatProjectedCookieValue('short', newSecret())).toThrow(TypeError);
    expect(() => formatProjectedCookieValue(newSessionId(), 'x'.repeat(42))).toThrow(TypeError);
  });
});
