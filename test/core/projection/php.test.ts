/**
 * Vectors captured from PHP 8.2 (`php -r 'echo var_export(serialize($v), true);'`, and
 * `session_encode()` under each serialize handler): every expected string below is PHP's output.
 */
import { hasCode } from '../../../src/core/errors';
import {
  decodePhpSerializeSession,
  decodePhpSession,
  encodePhpSerializeSession,
  encodePhpSession,
  formatPhpFloat,
  isPhpIntegerKey,
  PHP_MAX_DEPTH,
  serializePhp,
  unserializePhp,
  type PhpValue,
} from '../../../src/core/projection/php';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    return hasCode(err, 'ERR_PROJECTION_FORMAT') ? 'ERR_PROJECTION_FORMAT' : String(err);
  }
  return undefined;
}

const scalarVectors: Array<[string, PhpValue, string]> = [
  ['null', null, 'N;'],
  ['true', true, 'b:1;'],
  ['false', false, 'b:0;'],
  ['zero', 0, 'i:0;'],
  ['an int', 42, 'i:42;'],
  ['a negative int', -7, 'i:-7;'],
  ['MAX_SAFE_INTEGER', 9007199254740991, 'i:9007199254740991;'],
  ['MIN_SAFE_INTEGER', -9007199254740991, 'i:-9007199254740991;'],
  ['the empty string', '', 's:0:"";'],
  ['ASCII', 'abc', 's:3:"abc";'],
  ['é (2 bytes)', 'é', 's:2:"é";'],
  ['an emoji (4 bytes)', '😀', 's:4:"😀";'],
  ['CJK (3 bytes each)', '日本語', 's:9:"日本語";'],
  ['quotes, semicolons, backslash, newline, NUL (unescaped)', 'a"b;\\\n\0z', 's:8:"a"b;\\\n\0z";'],
];

const floatVectors: Array<[number, string]> = [
  [0.1, 'd:0.1;'],
  [1.5, 'd:1.5;'],
  [-0.5, 'd:-0.5;'],
  [123.456, 'd:123.456;'],
  [4.35, 'd:4.35;'],
  [0.1 + 0.2, 'd:0.30000000000000004;'],
  [1 / 3, 'd:0.3333333333333333;'],
  [-0, 'd:-0;'],
  [2 ** 53, 'd:9007199254740992;'],
  [2 ** 53 + 2, 'd:9007199254740994;'],
  [1e16, 'd:10000000000000000;'],
  [99999999999999980, 'd:99999999999999980;'],
  [1e17, 'd:1.0E+17;'],
  [1.2345678901234568e17, 'd:1.2345678901234568E+17;'],
  [2 ** 63, 'd:9.223372036854776E+18;'],
  [1e21, 'd:1.0E+21;'],
  [1e22, 'd:1.0E+22;'],
  [1e25, 'd:1.0E+25;'],
  [1e301, 'd:1.0E+301;'],
  [1.7976931348623157e308, 'd:1.7976931348623157E+308;'],
  [0.001, 'd:0.001;'],
  [0.0001, 'd:0.0001;'],
  [1e-5, 'd:1.0E-5;'],
  [9.999e-5, 'd:9.999E-5;'],
  [1e-7, 'd:1.0E-7;'],
  [-1.5e-10, 'd:-1.5E-10;'],
  [-1e-300, 'd:-1.0E-300;'],
  [5e-324, 'd:5.0E-324;'],
  [1.5e-323, 'd:1.5E-323;'],
  [Infinity, 'd:INF;'],
  [-Infinity, 'd:-INF;'],
  [NaN, 'd:NAN;'],
];

const arrayVectors: Array<[string, PhpValue, string]> = [
  [
    'integer-like keys, big and negative, next to string keys that only look numeric',
    {
      '5': [1, { '-3': null, '05': true, '-0': false, '9223372036854775807': 1, '9223372036854775808': 2, '-9223372036854775808': 3, '4294967295': 4 }],
      é: '😀',
      '': '',
    },
    'a:3:{i:5;a:2:{i:0;i:1;i:1;a:7:{i:-3;N;s:2:"05";b:1;s:2:"-0";b:0;i:9223372036854775807;i:1;s:19:"9223372036854775808";i:2;i:-9223372036854775808;i:3;i:4294967295;i:4;}}s:2:"é";s:4:"😀";s:0:"";s:0:"";}',
  ],
  [
    'lists, empty and nested arrays, maps',
    { list: [1, 'two', 3.5, null], empty: [], nested: [[[]]], map: { a: { b: { c: 1 } } } },
    'a:4:{s:4:"list";a:4:{i:0;i:1;i:1;s:3:"two";i:2;d:3.5;i:3;N;}s:5:"empty";a:0:{}s:6:"nested";a:1:{i:0;a:1:{i:0;a:0:{}}}s:3:"map";a:1:{s:1:"a";a:1:{s:1:"b";a:1:{s:1:"c";i:1;}}}}',
  ],
  ['a map with integer keys that is not a list', { '0': 'z', '7': 'a', x: 1 }, 'a:3:{i:0;s:1:"z";i:7;s:1:"a";s:1:"x";i:1;}'],
  ['keys named like Object.prototype members', JSON.parse('{"__proto__":{"x":1},"constructor":"x"}') as PhpValue, 'a:2:{s:9:"__proto__";a:1:{s:1:"x";i:1;}s:11:"constructor";s:1:"x";}'],
];

/** One session, written by PHP with `$_SESSION = [...]; session_encode();` under each handler. */
const session: Record<string, PhpValue> = {
  user_id: 7,
  name: 'Zoë 😀',
  roles: ['admin', 'editor'],
  ratio: 0.1,
  big: 1e25,
  ok: true,
  none: null,
  '': 'empty name',
  '05': 'str key',
  map: { '3': 'c', k: -0 },
};
const sessionAsPhp =
  'user_id|i:7;name|s:9:"Zoë 😀";roles|a:2:{i:0;s:5:"admin";i:1;s:6:"editor";}ratio|d:0.1;big|d:1.0E+25;ok|b:1;none|N;|s:10:"empty name";05|s:7:"str key";map|a:2:{i:3;s:1:"c";s:1:"k";d:-0;}';
const sessionAsPhpSerialize =
  'a:10:{s:7:"user_id";i:7;s:4:"name";s:9:"Zoë 😀";s:5:"roles";a:2:{i:0;s:5:"admin";i:1;s:6:"editor";}s:5:"ratio";d:0.1;s:3:"big";d:1.0E+25;s:2:"ok";b:1;s:4:"none";N;s:0:"";s:10:"empty name";s:2:"05";s:7:"str key";s:3:"map";a:2:{i:3;s:1:"c";s:1:"k";d:-0;}}';

describe('serializePhp and unserializePhp, against PHP 8.2 vectors', () => {
  it.each(scalarVectors)('%s', (_name, value, php) => {
    expect(serializePhp(value)).toBe(php);
    expect(unserializePhp(php)).toEqual(value);
  });

  it.each(floatVectors)('float %p', (value, php) => {
    expect(serializePhp(value)).toBe(php);
    expect(Object.is(unserializePhp(php), value)).toBe(true);
  });

  it.each(arrayVectors)('array: %s', (_name, value, php) => {
    expect(serializePhp(value)).toBe(php);
    expect(unserializePhp(php)).toEqual(value);
    expect(serializePhp(unserializePhp(php))).toBe(php);
  });

  it('decodes the bytes a store returns as well as text', () => {
    expect(unserializePhp(Buffer.from('a:1:{s:2:"é";s:4:"😀";}'))).toEqual({ é: '😀' });
  });

  it('keeps __proto__ an own key, never the prototype', () => {
    const value = unserializePhp('a:1:{s:9:"__proto__";a:1:{s:1:"x";i:1;}}') as Record<string, PhpValue>;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect((value as { x?: unknown }).x).toBeUndefined();
  });

  it('reads a PHP list as an array and any other array as an object', () => {
    expect(unserializePhp('a:2:{i:0;s:1:"a";i:1;s:1:"b";}')).toEqual(['a', 'b']);
    expect(unserializePhp('a:2:{i:1;s:1:"a";i:0;s:1:"b";}')).toEqual({ '0': 'b', '1': 'a' });
    expect(unserializePhp('a:1:{i:1;s:1:"a";}')).toEqual({ '1': 'a' });
    expect(unserializePhp('a:0:{}')).toEqual([]);
  });

  it('documents what cannot round-trip: an integral float comes back as an int', () => {
    expect(unserializePhp('d:2;')).toBe(2);
    expect(serializePhp(unserializePhp('d:2;'))).toBe('i:2;');
  });

  it('formats floats as PHP and names integer keys as PHP', () => {
    expect(formatPhpFloat(100)).toBe('100');
    expect(formatPhpFloat(-2.5e-7)).toBe('-2.5E-7');
    expect(['0', '5', '-3', '9223372036854775807', '-9223372036854775808'].every(isPhpIntegerKey)).toBe(true);
    expect(['', '05', '-0', '+5', ' 5', '5 ', '1e3', '9223372036854775808', '-9223372036854775809', '٣'].some(isPhpIntegerKey)).toBe(false);
  });
});

describe('session handlers, against PHP 8.2 vectors', () => {
  it('php_serialize writes $_SESSION as one array', () => {
    expect(encodePhpSerializeSession(session)).toBe(sessionAsPhpSerialize);
    expect(decodePhpSerializeSession(sessionAsPhpSerialize)).toEqual(session);
    expect(encodePhpSerializeSession({ user_id: 7 })).toBe('a:1:{s:7:"user_id";i:7;}');
  });

  it('php writes name|value pairs', () => {
    expect(encodePhpSession(session)).toBe(sessionAsPhp);
    expect(decodePhpSession(sessionAsPhp)).toEqual(session);
    expect(encodePhpSession({ user_id: 7 })).toBe('user_id|i:7;');
  });

  it('writes an empty session as PHP does', () => {
    expect(encodePhpSerializeSession({})).toBe('a:0:{}');
    expect(decodePhpSerializeSession('a:0:{}')).toEqual({});
    expect(encodePhpSession({})).toBe('');
    expect(decodePhpSession('')).toEqual({});
  });

  it('php_serialize: a session keyed 0..n-1 still decodes to an object', () => {
    expect(decodePhpSerializeSession('a:2:{i:0;s:1:"a";i:1;b:1;}')).toEqual({ '0': 'a', '1': true });
  });

  it.each([
    ['a | in the name', { 'a|b': 1 }],
    ['a ! in the name', { 'a!b': 1 }],
    ['an integer name (PHP skips those)', { '5': 1 }],
    ['a negative integer name', { '-3': 1 }],
  ])('php refuses to encode %s', (_name, data) => {
    expect(codeOf(() => encodePhpSession(data))).toBe('ERR_PROJECTION_FORMAT');
  });

  it.each([
    ['a name without a value', 'a|i:1;b'],
    ['a name whose value is cut', 'a|i:1;b|s:3:"ab'],
    ['a duplicate name', 'a|i:1;a|i:2;'],
    ['an integer name', '5|i:1;'],
    ['a ! in a name', 'a!|i:1;'],
    ['an object value', 'a|O:8:"stdClass":0:{}'],
  ])('php refuses to decode %s', (_name, text) => {
    expect(codeOf(() => decodePhpSession(text))).toBe('ERR_PROJECTION_FORMAT');
  });

  it.each([
    ['a scalar', 'i:1;'],
    ['a string', 's:1:"a";'],
    ['trailing text', 'a:0:{}x'],
    ['the php handler format', 'a|i:1;'],
    ['nothing', ''],
  ])('php_serialize refuses to decode %s', (_name, text) => {
    expect(codeOf(() => decodePhpSerializeSession(text))).toBe('ERR_PROJECTION_FORMAT');
  });
});

describe('unserializePhp refuses what PHP would not have written', () => {
  it.each([
    ['an object', 'O:8:"stdClass":1:{s:1:"a";i:1;}'],
    ['a custom-serialized object', 'C:11:"ArrayObject":21:{x:i:0;a:0:{};m:a:0:{}}'],
    ['an enum', 'E:7:"Suit:Hearts";'],
    ['a reference', 'a:2:{i:0;i:1;i:1;R:2;}'],
    ['an object reference', 'a:2:{i:0;a:0:{}i:1;r:2;}'],
    ['a bare reference', 'r:1;'],
    ['an empty text', ''],
    ['a truncated int', 'i:42'],
    ['a truncated string', 's:5:"abc'],
    ['a truncated array', 'a:2:{i:0;i:1;'],
    ['a truncated array header', 'a:2:'],
    ['a string length too short', 's:2:"abc";'],
    ['a string length too long', 's:4:"abc";'],
    ['a length counting characters, not bytes', 's:1:"é";'],
    ['a length cutting a character in two', 's:3:"é😀";'],
    ['an array count too small', 'a:1:{i:0;i:1;i:1;i:2;}'],
    ['an array count too large', 'a:3:{i:0;i:1;i:1;i:2;}'],
    ['a duplicate key', 'a:2:{s:1:"a";i:1;s:1:"a";i:2;}'],
    ['a duplicate integer key', 'a:2:{i:0;i:1;i:0;i:2;}'],
    ['a string key PHP writes as an integer', 'a:1:{s:1:"5";i:1;}'],
    ['a non-canonical integer key', 'a:1:{i:05;i:1;}'],
    ['an integer key beyond PHP_INT_MAX', 'a:1:{i:9223372036854775808;i:1;}'],
    ['a float key', 'a:1:{d:0.5;i:1;}'],
    ['an int beyond the JS safe range', 'i:9007199254740993;'],
    ['PHP_INT_MAX as a value', 'i:9223372036854775807;'],
    ['a non-canonical int', 'i:+5;'],
    ['a leading zero', 'i:05;'],
    ['minus zero as an int', 'i:-0;'],
    ['a boolean other than 0 or 1', 'b:2;'],
    ['a lower-case exponent', 'd:1e5;'],
    ['a float without digits', 'd:.5;'],
    ['a float with trailing junk', 'd:1.5x;'],
    ['text after the value', 'i:1;i:2;'],
    ['whitespace after the value', 'N; '],
    ['lower-case null', 'n;'],
    ['a lone surrogate in the text', 's:3:"\uD800";'],
  ])('%s', (_name, text) => {
    expect(codeOf(() => unserializePhp(text))).toBe('ERR_PROJECTION_FORMAT');
  });

  it('refuses bytes that are not UTF-8 inside a string', () => {
    expect(codeOf(() => unserializePhp(Buffer.from([...Buffer.from('s:2:"'), 0xff, 0xfe, ...Buffer.from('";')])))).toBe('ERR_PROJECTION_FORMAT');
  });

  it(`refuses nesting deeper than ${PHP_MAX_DEPTH}, both ways, without exhausting the stack`, () => {
    const deep = (levels: number): string => 'a:1:{i:0;'.repeat(levels) + 'N;' + '}'.repeat(levels);
    expect(() => unserializePhp(deep(PHP_MAX_DEPTH))).not.toThrow();
    expect(codeOf(() => unserializePhp(deep(PHP_MAX_DEPTH + 1)))).toBe('ERR_PROJECTION_FORMAT');
    expect(codeOf(() => unserializePhp(deep(100_000)))).toBe('ERR_PROJECTION_FORMAT');
    const cyclic: PhpValue[] = [];
    cyclic.push(cyclic);
    expect(codeOf(() => serializePhp(cyclic))).toBe('ERR_PROJECTION_FORMAT');
  });
});

describe('serializePhp refuses what PHP cannot carry', () => {
  it.each([
    ['undefined', undefined],
    ['a bigint', 5n],
    ['a function', () => 1],
    ['a symbol', Symbol('x')],
    ['a Date (would write a:0:{})', new Date(0)],
    ['a Map', new Map()],
    ['a class instance', new (class Point { x = 1; })()],
    ['an undefined member', { a: undefined }],
    ['an array hole', [1, , 3]], // eslint-disable-line no-sparse-arrays
    ['a lone surrogate in a string', '\uD800'],
    ['a lone surrogate in a key', { '\uDC00': 1 }],
  ])('%s', (_name, value) => {
    expect(codeOf(() => serializePhp(value as PhpValue))).toBe('ERR_PROJECTION_FORMAT');
  });

  it('accepts objects without a prototype', () => {
    const bare = Object.create(null) as Record<string, PhpValue>;
    bare.a = 1;
    expect(serializePhp(bare)).toBe('a:1:{s:1:"a";i:1;}');
  });
});
