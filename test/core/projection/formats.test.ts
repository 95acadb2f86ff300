import { hasCode } from '../../../src/core/errors';
import { projectionCodec, type ProjectionFormat } from '../../../src/core/projection/formats';

describe('projectionCodec', () => {
  const data = { user_id: 7, name: 'é' };

  it.each<[ProjectionFormat, string]>([
    ['json', '{"user_id":7,"name":"é"}'],
    ['php_serialize', 'a:2:{s:7:"user_id";i:7;s:4:"name";s:2:"é";}'],
    ['php', 'user_id|i:7;name|s:2:"é";'],
  ])('%s encodes and decodes whole sessions', (format, text) => {
    const codec = projectionCodec(format);
    expect(codec.format).toBe(format);
    expect(codec.encode(data)).toBe(text);
    expect(codec.decode(text)).toEqual(data);
  });

  it('each format refuses the others', () => {
    let err: unknown;
    try {
      projectionCodec('php').decode('{"user_id":7}');
    } catch (caught) {
      err = caught;
    }
    expect(hasCode(err, 'ERR_PROJECTION_FORMAT')).toBe(true);
    expect(() => projectionCodec('json').decode('user_id|i:7;')).toThrow();
    expect(() => projectionCodec('php_serialize').decode('user_id|i:7;')).toThrow();
  });

  it('refuses an unknown format, even one named like an Object.prototype member', () => {
    expect(() => projectionCodec('toString' as ProjectionFormat)).toThrow(/unknown projection format/);
    expect(() => projectionCodec('yaml' as ProjectionFormat)).toThrow(/unknown projection format/);
  });
});
