import { normalizeEmail } from '../../../src/core/users/normalize-email';

describe('normalizeEmail', () => {
  it('trims and lower-cases', () => {
    expect(normalizeEmail(' Ada@Example.ORG ')).toBe('ada@example.org');
  });

  it('gives precomposed (NFC) and decomposed (NFD) spellings one key, the NFC one (RFC 6532 §3.1)', () => {
    const nfc = '\u00c9lodie@Exemple.fr';
    const nfd = 'E\u0301lodie@Exemple.fr';
    expect(nfc).not.toBe(nfd);
    expect(normalizeEmail(nfd)).toBe('\u00e9lodie@exemple.fr');
    expect(normalizeEmail(nfc)).toBe('\u00e9lodie@exemple.fr');
    // Combining marks in either canonical order: dot below (class 220) and circumflex (230).
    expect(normalizeEmail('a\u0302\u0323@x.io')).toBe('\u1ead@x.io');
    expect(normalizeEmail('a\u0323\u0302@x.io')).toBe('\u1ead@x.io');
  });

  it('folds no compatibility characters (no NFKC): they may name other mailboxes', () => {
    expect(normalizeEmail('\ufb01le@x.io')).toBe('\ufb01le@x.io'); // the "fi" ligature stays
    expect(normalizeEmail('\uff41@x.io')).toBe('\uff41@x.io'); // a full-width "a" stays
    expect(normalizeEmail('x\u00b2@x.io')).toBe('x\u00b2@x.io'); // a superscript two stays
  });

  it('is idempotent and gives canonically equivalent inputs one key, over the whole BMP', () => {
    const broken: number[] = [];
    for (let code = 0xa0; code <= 0xffff; code += 1) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const ch = String.fromCharCode(code);
      const key = normalizeEmail(`${ch}@x.io`);
      if (normalizeEmail(key) !== key || normalizeEmail(`${ch.normalize('NFD')}@x.io`) !== key || normalizeEmail(`${ch.normalize('NFC')}@x.io`) !== key) broken.push(code);
    }
    expect(broken).toEqual([]);
  });
});
