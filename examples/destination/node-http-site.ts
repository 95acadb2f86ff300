import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createDestination, type DestinationOptions } from '../../src/destination';

/** A site on plain node:https (Express and others call `handler` the same way). */
export function createNodeSite(options: DestinationOptions): { listener(req: IncomingMessage, res: ServerResponse): Promise<void>; close(): Promise<void> } {
  const tessera = createDestination(options);

  async function listener(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Beacons, accept, loader.js and start under /shared-session/; false for every other path.
    if (await tessera.handler(req, res)) return;

    const user = await tessera.readSession(req);
    const nonce = randomBytes(16).toString('base64');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': `script-src 'nonce-${nonce}'` });
    res.end(`<!doctype html>
<p>${user ? `Signed in as ${escapeHtml(String(user.claims.email ?? user.sub))}` : '<a href="/shared-session/start?prompt=login&amp;return_to=/">Sign in</a>'}</p>
${await tessera.beaconTags(user, nonce)}`);
  }
  return { listener, close: () => tessera.close() };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// node node-http-site.js, with HUB_URL, SITE_ORIGIN, SITE_CREDENTIAL, TLS_KEY and TLS_CERT (PEM files) set.
if (require.main === module) {
  const env = (name: string): string => process.env[name] ?? '';
  const { listener } = createNodeSite({ hubUrl: env('HUB_URL'), siteOrigin: env('SITE_ORIGIN'), credential: env('SITE_CREDENTIAL') });
  https.createServer({ key: readFileSync(env('TLS_KEY')), cert: readFileSync(env('TLS_CERT')) }, (req, res) => void listener(req, res)).listen(443);
}
