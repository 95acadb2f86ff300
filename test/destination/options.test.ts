/**
 * createDestination's options: checked up front, every problem named in one ERR_CONFIG_INVALID.
 */
import { Agent } from 'node:https';
import { resolveOptions, type DestinationOptions } from '../../src/destination/options';

const base: DestinationOptions = { hubUrl: 'https://login.example.com', siteOrigin: 'https://www.example.org' };

function problem(options: Record<string, unknown>): string {
  try {
    resolveOptions({ ...base, ...options } as DestinationOptions);
  } catch (err) {
    expect(err).toMatchObject({ code: 'ERR_CONFIG_INVALID' });
    return (err as Error).message;
  }
  throw new Error('options were accepted');
}

describe('destination options', () => {
  it('applies the documented defaults', () => {
    const options = resolveOptions(base);
    expect(options).toMatchObject({
      hubHost: 'login.example.com',
      siteHost: 'www.example.org',
      credential: null,
      algorithms: ['RS256'],
      prefix: '/shared-session/',
      clockToleranceSeconds: 5,
      maxTokenBytes: 4096,
      strictReferer: false,
      alwaysReplace: false,
      store: 'memory',
      cookie: { name: 'tessera_site', sameSite: 'none', path: '/', domain: null, maxAgeSeconds: null },
      sessionLifetimeSeconds: 43_200,
      noBounceSeconds: 300,
      webhookUrl: null,
      agent: null,
      hubTimeoutMs: 3000,
      linkReportTimeoutMs: 500,
      trustProxy: false,
    });
    expect([...options.siteHosts]).toEqual([]);
  });

  it.each([
    [{ hubUrl: 'http://login.example.com' }, '"hubUrl" must be an https origin such as https://login.example.com'],
    [{ siteOrigin: 'https://www.example.org/' }, '"siteOrigin" must be an https origin'],
    [{ sites: ['https://shop.example.net/path'] }, '"sites.0" must be an https origin'],
    [{ sites: ['https://login.example.com'] }, '"sites" lists the hub'],
    [{ algorithms: ['HS256'] }, '"algorithms.0"'],
    [{ algorithms: [] }, '"algorithms" must name at least one algorithm'],
    [{ prefix: '/' }, '"prefix" must start and end with "/"'],
    [{ prefix: '/../x/' }, '"prefix" must start and end with "/"'],
    [{ clockToleranceSeconds: 61 }, '"clockToleranceSeconds"'],
    [{ maxTokenBytes: 0 }, '"maxTokenBytes"'],
    [{ credential: 'short' }, '"credential" must be the credential the hub issued'],
    [{ store: { redis: {} } }, '"store" must be "memory" or { redis: <an ioredis client>'],
    [{ store: 'redis' }, '"store" must be "memory" or'],
    [{ cookie: { name: 'bad name' } }, '"cookie.name" must be a cookie name'],
    [{ cookie: { name: '__Host-s', path: '/app/' } }, '"cookie.name" a __Host- cookie needs path "/" and no domain'],
    [{ cookie: { domain: 'example.com' } }, '"cookie.domain" must be www.example.org or a parent domain of it'],
    [{ cookie: { maxAgeSeconds: 50_000 } }, '"cookie.maxAgeSeconds" must not exceed "sessionLifetimeSeconds"'],
    [{ cookie: { secure: false } }, '"cookie"'],
    [{ webhookUrl: 'ftp://hooks.example.org/' }, '"webhookUrl" must be an http(s) URL'],
    [{ ca: 'pem', agent: new Agent() }, '"agent" give either "ca" or "agent"'],
    [{ logger: { info: () => undefined } }, '"logger" must have debug, info, warn and error methods'],
    [{ onSessionReplaced: 'https://x' }, '"onSessionReplaced" must be a function'],
    [{ unknownOption: true }, 'unknownOption'],
  ])('refuses %j', (options, message) => {
    expect(problem(options)).toContain(message);
  });

  it('names every problem at once', () => {
    const message = problem({ hubUrl: 'nope', noBounceSeconds: 0, trustProxy: 'yes' });
    expect(message).toContain('"hubUrl"');
    expect(message).toContain('"noBounceSeconds"');
    expect(message).toContain('"trustProxy"');
  });

  it('builds one agent trusting the given CA', () => {
    const options = resolveOptions({ ...base, ca: '-----BEGIN CERTIFICATE-----' });
    expect(options.agent).toBeInstanceOf(Agent);
    expect(options.agent?.options.ca).toEqual(['-----BEGIN CERTIFICATE-----']);
  });
});
