/**
 * The frame of every hub page: accessible HTML (lang, landmarks, labels), the self-hosted
 * stylesheet, no external assets, and a per-request CSP nonce for the rare inline script.
 */
import { html, type SafeHtml } from './html';

export interface PageOptions {
  title: string;
  /** The CSP nonce of this response (see pageSecurity in ../middleware/page.ts). */
  nonce: string;
  /** Signed-in user's label for the header, if any. */
  signedInAs?: string | null;
  body: SafeHtml;
  /** Extra markup placed at the end of <body> (beacons, auto-submit scripts). */
  tail?: SafeHtml | null;
}

export function layout(options: PageOptions): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${options.title} · Tessera</title>
<link rel="stylesheet" href="/assets/tessera.css">
</head>
<body>
<header class="top"><a class="brand" href="/account">Tessera</a>${options.signedInAs ? html`<span class="who">Signed in as <strong>${options.signedInAs}</strong></span>` : ''}</header>
<main id="main">
<h1>${options.title}</h1>
${options.body}
</main>
${options.tail ?? ''}
</body>
</html>`.value;
}

/** A hidden CSRF field for a form. */
export function csrfField(token: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

/** A notice above a form: `role="alert"` so screen readers announce it. */
export function notice(kind: 'error' | 'info', text: string | null | undefined): SafeHtml {
  if (!text) return html``;
  return html`<p class="notice ${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${text}</p>`;
}

/** `2026-11-22 20:45:00 UTC`: a Unix time as the hub's pages show it. */
export function utcTime(seconds: number): string {
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** `10 minutes`, `1 minute`. */
export function minutesText(minutes: number): string {
  return `${minutes} ${minutes === 1 ? 'minute' : 'minutes'}`;
}
