/**
 * Server-side connections between the demo's processes. RFC 6761 §6.3 reserves `*.localhost`
 * for loopback and browsers resolve those names themselves, but glibc does not (`getent hosts
 * shop.localhost` finds nothing on Debian: only the bare `localhost` is in /etc/hosts). So every
 * server-side request the demo makes — the SDK sites fetching the hub's JWKS and calling its
 * API, the blog proxying to the hub — goes through an agent whose `lookup` answers 127.0.0.1
 * for those names, and which trusts the demo's certificate authority.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import https from 'node:https';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** True for `localhost` and every name below it (RFC 6761 §6.3). */
export function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * A `lookup` for `net.connect` / `https.Agent`: `*.localhost` → 127.0.0.1 without asking the
 * system resolver, anything else → `dns.lookup`.
 *
 * @example
 * https.get('https://hub.tessera.localhost:8443/healthz', { lookup: loopbackLookup, ca });
 */
export function loopbackLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  if (!isLocalhostName(hostname)) {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err || options.all) callback(err, addresses);
      else callback(null, addresses[0]?.address ?? '', addresses[0]?.family);
    });
    return;
  }
  // net asks for every address (`all: true`) when it races IPv4 and IPv6 (autoSelectFamily).
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}

/**
 * A `lookup` that sends every `*.localhost` name to the address of `host` instead of loopback:
 * in a container the demo's host names belong to the reverse proxy's container (`proxy`), not
 * to 127.0.0.1. Other names resolve as usual.
 */
export function localhostTo(host: string): (hostname: string, options: LookupOptions, callback: LookupCallback) => void {
  return (hostname, options, callback) => loopbackLookup(isLocalhostName(hostname) ? host : hostname, options, callback);
}

/**
 * An HTTPS agent for requests between demo processes: loopback for `*.localhost` (or the address
 * of `options.localhostAddress`, see {@link localhostTo}), and the demo authority as the only
 * trusted CA.
 *
 * @example
 * createDestination({ hubUrl, siteOrigin, agent: demoAgent(tls.ca) });
 */
export function demoAgent(ca: string, options: { localhostAddress?: string } = {}): https.Agent {
  const lookup = options.localhostAddress === undefined ? loopbackLookup : localhostTo(options.localhostAddress);
  return new https.Agent({ ca, keepAlive: true, lookup: lookup as https.AgentOptions['lookup'] });
}
