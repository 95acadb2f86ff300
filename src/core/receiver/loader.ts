/**
 * The beacon markup a page emits for the sites that do not yet hold its session: as the body of
 * `loader.js` (the one-line snippet), or as tags rendered server-side with a CSP nonce. Every
 * URL comes from the hub's configuration plus a token of base64url characters, and is still
 * escaped for its context: JSON with `<` written as `\u003c` inside scripts, HTML escaping in
 * attributes. Beacons ask for `referrerpolicy="origin"`, so the receiver can match the embedding
 * page's origin against the token's `src` even where the page itself sends no referrer.
 */
import { escapeHtml } from '../html/escape';
import type { BeaconKind } from './receiver';

export interface Beacon {
  /** Absolute URL: `<site origin><prefix><token>.js` or `.gif`. */
  url: string;
  kind: BeaconKind;
}

/** The URL of a beacon for `token` on the site at `origin`. */
export function beaconUrl(origin: string, prefix: string, token: string, kind: BeaconKind): string {
  return `${origin}${prefix}${token}${kind === 'script' ? '.js' : '.gif'}`;
}

function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * The body of `loader.js`: nothing at all when every site holds the session, else a tiny script
 * that appends the beacons to the document.
 */
export function renderLoaderScript(beacons: readonly Beacon[]): string {
  if (beacons.length === 0) return '';
  return `(function(b){for(var i=0;i<b.length;i++){var e=document.createElement(b[i].kind==='image'?'img':'script');if(b[i].kind==='image'){e.width=1;e.height=1;e.alt='';e.style.display='none';e.referrerPolicy='origin';}else{e.async=true;e.referrerPolicy='origin';}e.src=b[i].url;(document.body||document.documentElement).appendChild(e);}})(${scriptJson(beacons.map((b) => ({ url: b.url, kind: b.kind })))});\n`;
}

/** The same beacons as HTML tags for a server-rendered page, carrying the page's CSP nonce. */
export function renderBeaconTags(beacons: readonly Beacon[], nonce: string | null): string {
  const nonceAttr = nonce === null ? '' : ` nonce="${escapeHtml(nonce)}"`;
  return beacons
    .map((b) =>
      b.kind === 'image'
        ? `<img src="${escapeHtml(b.url)}" width="1" height="1" alt="" hidden referrerpolicy="origin">`
        : `<script async src="${escapeHtml(b.url)}" referrerpolicy="origin"${nonceAttr}></script>`,
    )
    .join('\n');
}
