import { parseJsonObject } from '../../../src/core/tokens/strict-json';

describe('parseJsonObject', () => {
  it.each([
    ['top level', '{"aud":"a","aud":"b"}', 'aud'],
    ['written with an escape', '{"aud":"a","\\u0061ud":"b"}', 'aud'],
    ['with whitespace before the colon', '{"a":1, "b":2, "a" :3}', 'a'],
    ['in a nested object', '{"roles":{"x":1,"x":2}}', 'x'],
    ['in an object inside an array', '{"list":[1,{"k":true,"k":false}]}', 'k'],
  ])('refuses a duplicate member %s', (_name, text, member) => {
    expect(parseJsonObject(text)).toEqual({ ok: false, reason: 'duplicate', member });
  });

  it.each([
    ['the same name in sibling and nested objects', '{"a":{"a":1},"b":[{"a":2},{"a":3}]}'],
    ['brackets, quotes and colons inside strings', '{"x":"{\\"a\\":1,\\"a\\":2}","y":"a:b","z":"\\\\"}'],
    ['names that differ only by case', '{"Aud":1,"aud":2}'],
  ])('accepts %s', (_name, text) => {
    expect(parseJsonObject(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it.each([['not JSON', '{"a":'], ['an array', '[1]'], ['a string', '"a"'], ['null', 'null']])('refuses %s as malformed', (_name, text) => {
    expect(parseJsonObject(text)).toEqual({ ok: false, reason: 'malformed' });
  });
});
