import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import Koa from 'koa';
import { createDestination, type DestinationOptions, type TesseraState } from '../../src/destination';

/** A Koa site on the shared session: every page knows who is signed in at the hub. */
export function createKoaSite(options: DestinationOptions): { app: Koa<{ tessera: TesseraState | null }>; close(): Promise<void> } {
  const tessera = createDestination(options);
  const app = new Koa<{ tessera: TesseraState | null }>();

  // The session (ctx.session), ctx.state.tessera, and the receiver under /shared-session/.
  app.use(tessera.middleware());
  // No session here yet: one bounce through the hub, back signed in (or anonymous, never a loop).
  app.use(tessera.requireSession());

  app.use(async (ctx) => {
    const nonce = randomBytes(16).toString('base64');
    const user = ctx.state.tessera;
    ctx.set('Content-Security-Policy', `script-src 'nonce-${nonce}'`);
    ctx.type = 'html';
    ctx.body = `<!doctype html>
<p>${user ? `Signed in as ${escapeHtml(String(user.claims.email ?? user.sub))}, from ${escapeHtml(user.src)}` : 'Not signed in'}</p>
${await tessera.beaconTags(ctx, nonce)}`;
  });
  return { app, close: () => tessera.close() };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// node koa-site.js, with HUB_URL, SITE_ORIGIN, SITE_CREDENTIAL, TLS_KEY and TLS_CERT (PEM files) set.
if (require.main === module) {
  const env = (name: string): string => process.env[name] ?? '';
  const { app } = createKoaSite({ hubUrl: env('HUB_URL'), siteOrigin: env('SITE_ORIGIN'), credential: env('SITE_CREDENTIAL') });
  https.createServer({ key: readFileSync(env('TLS_KEY')), cert: readFileSync(env('TLS_CERT')) }, app.callback()).listen(443);
}
