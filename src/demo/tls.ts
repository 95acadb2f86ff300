/**
 * The demo's certificates: a small certificate authority of its own and one server certificate
 * it signs, with a subject alternative name for every demo host. They are generated once into
 * `<dataDir>/demo-tls/` and reused while they still cover the requested hosts and are not
 * about to expire, so a browser told to trust `ca.pem` keeps trusting the demo across restarts.
 * A CA rather than a lone self-signed certificate because browsers and Node's TLS client accept
 * an authority as a trust anchor (`ca` option, "Authorities" in browser settings), while a
 * self-signed leaf is refused as a CA by some of them.
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

/** PEM files an HTTPS server and its clients need. */
export interface DemoTls {
  /** The demo authority's certificate: what clients (the SDK, a browser) are told to trust. */
  ca: string;
  /** The server certificate for every demo host, signed by the authority. */
  cert: string;
  /** The server certificate's private key (mode 0600 on disk). */
  key: string;
  /** Where the files live: `ca.pem`, `cert.pem`, `key.pem`, `ca-key.pem`. */
  dir: string;
  /** True when this call generated them. */
  generated: boolean;
}

const validityDays = 365;
/** Regenerate this long before expiry, so a demo never starts with a certificate about to lapse. */
const renewBeforeMs = 7 * 24 * 3600 * 1000;

/**
 * Returns the demo certificates in `dir`, generating them when missing, expiring, or missing one
 * of `hosts`.
 *
 * @example
 * const tls = await ensureDemoTls('data/demo-tls', ['hub.tessera.localhost', 'shop.localhost']);
 * https.createServer({ cert: tls.cert, key: tls.key }, handler);
 */
export async function ensureDemoTls(dir: string, hosts: readonly string[], now: Date = new Date()): Promise<DemoTls> {
  const files = { ca: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  if (Object.values(files).every((file) => existsSync(file))) {
    const existing = { ca: readFileSync(files.ca, 'utf8'), cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
    if (covers(existing.cert, hosts, now)) return { ...existing, dir, generated: false };
  }

  const notAfterDate = new Date(now.getTime() + validityDays * 24 * 3600 * 1000);
  const authority = await generate([{ name: 'commonName', value: 'Tessera demo CA' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: hosts[0] ?? 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate,
    ca: { key: authority.private, cert: authority.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...hosts.map((value) => ({ type: 2 as const, value })), { type: 7, ip: '127.0.0.1' }] },
    ],
  });

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(files.ca, authority.cert);
  writePrivate(files.caKey, authority.private);
  writeFileSync(files.cert, server.cert);
  writePrivate(files.key, server.private);
  return { ca: authority.cert, cert: server.cert, key: server.private, dir, generated: true };
}

function writePrivate(file: string, pem: string): void {
  writeFileSync(file, pem, { mode: 0o600 });
  // writeFileSync keeps the mode of a file that already exists: tighten it explicitly.
  chmodSync(file, 0o600);
}

function covers(certPem: string, hosts: readonly string[], now: Date): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const names = (cert.subjectAltName ?? '').split(', ').filter((entry) => entry.startsWith('DNS:')).map((entry) => entry.slice(4));
    return hosts.every((host) => names.includes(host)) && new Date(cert.validTo).getTime() - renewBeforeMs > now.getTime();
  } catch {
    return false;
  }
}
