import { hasCode } from '../../../src/core/errors';
import { decodeJsonSession, encodeJsonSession } from '../../../src/core/projection/json';
import type { PhpValue } from '../../../src/core/projection/php';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    return hasCode(err, 'ERR_PROJECTION_FORMAT') ? 'ERR_PROJECTION_FORMAT' : String(err);
  }
  return undefined;
}

describe('JSON sessions', () => {
  const session: Record<string, PhpValue> = { user_id: 7, name: 'Zoë 😀', roles: ['admin'], ratio: 0.1, big: 1e25, ok: true, none: null, '': '', '5': { '-3': [] } };

  it('encodes and decodes one JSON object', () => {
    const text = encodeJsonSession(session);
    expect(text).toBe('{"5":{"-3":[]},"user_id":7,"name":"Zoë 😀","roles":["admin"],"ratio":0.1,"big":1e+25,"ok":true,"none":null,"":""}');
    expect(decodeJsonSession(text)).toEqual(session);
    expect(encodeJsonSession({})).toBe('{}');
    expect(decodeJsonSession('{}')).toEqual({});
  });

  it('keeps __proto__ an own member', () => {
    const decoded = decodeJsonSession('{"__proto__":{"admin":true}}');
    expect(Object.keys(decoded)).toEqual(['__proto__']);
    expect((decoded as { admin?: unknown }).admin).toBeUndefined();
    expect(encodeJsonSession(decoded)).toBe('{"__proto__":{"admin":true}}');
  });

  it.each([
    ['an array', '[1]'],
    ['a string', '"a"'],
    ['null', 'null'],
    ['a number', '1'],
    ['not JSON', '{"a":'],
    ['PHP serialize output', 'a:0:{}'],
    ['a duplicate member', '{"role":"user","role":"admin"}'],
  ])('refuses to decode %s', (_name, text) => {
    expect(codeOf(() => decodeJsonSession(text))).toBe('ERR_PROJECTION_FORMAT');
  });

  it.each([
    ['NaN', { a: NaN }],
    ['Infinity', { a: [Infinity] }],
    ['undefined', { a: undefined }],
    ['a Date (toJSON would turn it into a string)', { a: new Date(0) }],
    ['a lone surrogate', { a: '\uD800' }],
    ['a lone surrogate in a key', { '\uDC00': 1 }],
    ['an array at the top', [1]],
  ])('refuses to encode %s', (_name, data) => {
    expect(codeOf(() => encodeJsonSession(data as unknown as Record<string, PhpValue>))).toBe('ERR_PROJECTION_FORMAT');
  });
});
