import { SiteRegistry, originOf } from '../../../src/core/sites/registry';

const hub = 'https://login.example.com';
const registry = new SiteRegistry(hub, [{ origin: 'https://www.example.org' }, { origin: 'https://shop.example.net:8443' }]);

describe('SiteRegistry', () => {
  it('resolves sites by exact origin only', () => {
    expect(registry.resolve('https://www.example.org/path?q=1')?.origin).toBe('https://www.example.org');
    expect(registry.resolve('https://WWW.EXAMPLE.ORG')?.origin).toBe('https://www.example.org');
    expect(registry.resolve('http://www.example.org')).toBeNull();
    expect(registry.resolve('https://www.example.org.evil.com')).toBeNull();
    expect(registry.resolve('https://evil.com/https://www.example.org')).toBeNull();
    expect(registry.resolve('https://shop.example.net')).toBeNull();
    expect(registry.resolve('https://shop.example.net:8443/x')?.origin).toBe('https://shop.example.net:8443');
    expect(registry.resolve('javascript:alert(1)')).toBeNull();
    expect(registry.resolve('not a url')).toBeNull();
  });

  it('knows sources by host', () => {
    expect(registry.isKnownSource('login.example.com')).toBe(true);
    expect(registry.isKnownSource('www.example.org')).toBe(true);
    expect(registry.isKnownSource('shop.example.net:8443')).toBe(true);
    expect(registry.isKnownSource('shop.example.net')).toBe(false);
    expect(registry.isKnownSource('evil.com')).toBe(false);
    expect(registry.byHost('WWW.example.org')?.origin).toBe('https://www.example.org');
  });

  it.each([
    ['https://evil.com/', 'fallback'],
    ['//evil.com/x', 'fallback'],
    ['/\\evil.com', 'fallback'],
    ['https://user:pw@www.example.org/', 'fallback'],
    ['https://www.example.org@evil.com/', 'fallback'],
    ['javascript:alert(1)', 'fallback'],
    ['data:text/html,x', 'fallback'],
    ['', 'fallback'],
    ['https://www.example.org/cart?x=1', 'https://www.example.org/cart?x=1'],
    ['/account', 'https://login.example.com/account'],
    ['https://login.example.com/account', 'https://login.example.com/account'],
  ])('safeReturnTo(%s) → %s', (input, expected) => {
    expect(registry.safeReturnTo(input, 'fallback')).toBe(expected);
  });

  it('parses origins the WHATWG way', () => {
    expect(originOf('HTTPS://Example.COM:443/a')).toBe('https://example.com');
    expect(originOf('ftp://example.com')).toBeNull();
    expect(originOf('https://u:p@example.com')).toBeNull();
  });
});
