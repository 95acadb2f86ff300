import { beaconUrl, renderBeaconTags, renderLoaderScript } from '../../../src/core/receiver/loader';
import { TRANSPARENT_GIF, beaconResponse, checkEmbeddingPage, decideReplacement, isSameOriginForm, parseReceiverPath } from '../../../src/core/receiver/receiver';

const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzaWQiOiJ4In0.c2lnbmF0dXJl';

describe('receiver paths', () => {
  it.each([
    [`/shared-session/${token}.js`, { route: 'beacon', kind: 'script', token }],
    [`/shared-session/${token}.gif`, { route: 'beacon', kind: 'image', token }],
    ['/shared-session/accept', { route: 'accept' }],
    ['/shared-session/loader.js', { route: 'loader' }],
    ['/shared-session/start', { route: 'start' }],
    ['/shared-session/session.json', { route: 'session' }],
    ['/shared-session/backchannel-logout', { route: 'backchannel-logout' }],
    ['/shared-session/not-a-token.js', null],
    [`/shared-session/${token}.png`, null],
    [`/shared-session/${token}<x>.js`, null],
    [`/other/${token}.js`, null],
  ])('%s', (path, expected) => {
    expect(parseReceiverPath(path)).toEqual(expected);
  });

  it('honours another prefix', () => {
    expect(parseReceiverPath('/sso/accept', '/sso/')).toEqual({ route: 'accept' });
  });
});

describe('beacon responses', () => {
  it('answers a 42-byte transparent GIF for image beacons, tiny JS for script beacons', () => {
    expect(TRANSPARENT_GIF.subarray(0, 6).toString()).toBe('GIF89a');
    expect(TRANSPARENT_GIF).toHaveLength(42);
    expect(TRANSPARENT_GIF.at(-1)).toBe(0x3b);
    expect(beaconResponse('image', true)).toEqual({ status: 200, type: 'image/gif', body: TRANSPARENT_GIF });
    const js = beaconResponse('script', true);
    expect(js.status).toBe(200);
    expect(js.type).toMatch(/^application\/javascript/);
    expect(String(js.body).length).toBeLessThan(32);
    expect(beaconResponse('script', false).status).toBe(400);
  });
});

describe('embedding page check', () => {
  it('requires the Origin or Referer host to be the token src when present', () => {
    expect(() => checkEmbeddingPage({ referer: 'https://shop.example.net/cart', origin: undefined }, 'shop.example.net', false)).not.toThrow();
    expect(() => checkEmbeddingPage({ referer: undefined, origin: 'https://evil.example' }, 'shop.example.net', false)).toThrow(expect.objectContaining({ code: 'ERR_HANDOFF_REFERER' }));
    expect(() => checkEmbeddingPage({ referer: 'garbage', origin: undefined }, 'shop.example.net', false)).toThrow(expect.objectContaining({ code: 'ERR_HANDOFF_REFERER' }));
    expect(() => checkEmbeddingPage({ referer: undefined, origin: undefined }, 'shop.example.net', false)).not.toThrow();
    expect(() => checkEmbeddingPage({ referer: undefined, origin: undefined }, 'shop.example.net', true)).toThrow(expect.objectContaining({ code: 'ERR_HANDOFF_REFERER' }));
  });
});

describe('replacement semantics', () => {
  it('keeps the same live session, replaces a dead or missing one, and a different live one only when told', () => {
    expect(decideReplacement(null, 's1', false)).toEqual({ action: 'replace', wasEmpty: true });
    expect(decideReplacement({ sid: 's0', live: false }, 's1', false)).toEqual({ action: 'replace', wasEmpty: true });
    expect(decideReplacement({ sid: 's1', live: true }, 's1', true)).toEqual({ action: 'keep', wasEmpty: false });
    expect(decideReplacement({ sid: 's0', live: true }, 's1', false)).toEqual({ action: 'keep', wasEmpty: false });
    expect(decideReplacement({ sid: 's0', live: true }, 's1', true)).toEqual({ action: 'replace', wasEmpty: false });
  });
});

describe('beacon markup', () => {
  const beacons = [
    { url: beaconUrl('https://shop.example.net', '/shared-session/', token, 'script'), kind: 'script' as const },
    { url: beaconUrl('https://news.example.org', '/shared-session/', token, 'image'), kind: 'image' as const },
  ];

  it('renders nothing when every site holds the session', () => {
    expect(renderLoaderScript([])).toBe('');
    expect(renderBeaconTags([], 'n')).toBe('');
  });

  it('renders a loader script whose data cannot break out of the script', () => {
    const script = renderLoaderScript([{ url: 'https://x.example/</script><script>alert(1)</script>', kind: 'script' }]);
    expect(script).not.toContain('</script>');
    expect(script).toContain('\\u003c/script\\u003e');
    const ok = renderLoaderScript(beacons);
    expect(ok).toContain(`https://shop.example.net/shared-session/${token}.js`);
    expect(() => new Function(ok)).not.toThrow();
  });

  it('renders tags with the nonce and escaped attributes', () => {
    const tags = renderBeaconTags(beacons, 'abc"def');
    expect(tags).toContain(`<script async src="https://shop.example.net/shared-session/${token}.js" referrerpolicy="origin" nonce="abc&quot;def"></script>`);
    expect(tags).toContain(`<img src="https://news.example.org/shared-session/${token}.gif"`);
  });
});

describe('site-started sign-out forms', () => {
  const site = 'https://shop.example.net';
  it.each([
    [{ origin: site, fetchSite: 'same-origin' }, true],
    [{ origin: site, fetchSite: '' }, true],
    [{ origin: '', fetchSite: 'same-origin' }, true],
    [{ origin: 'null', fetchSite: 'same-origin' }, true],
    [{ origin: '', fetchSite: '' }, false],
    [{ origin: 'null', fetchSite: '' }, false],
    [{ origin: 'https://evil.example', fetchSite: '' }, false],
    [{ origin: site, fetchSite: 'cross-site' }, false],
    [{ origin: '', fetchSite: 'same-site' }, false],
    [{ origin: '', fetchSite: 'none' }, false],
  ])('%j → %s', (headers, expected) => {
    expect(isSameOriginForm(headers, site)).toBe(expected);
  });
});
