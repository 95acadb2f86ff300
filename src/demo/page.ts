/**
 * The one page every demo site renders: who is signed in on this site and where that session came
 * from, a way to sign in (a bounce with `prompt=login`), links to the other demo sites, and the
 * one-line loader snippet — both shown to the reader and embedded for real, so opening a page
 * fans the session out to the sites that do not hold it yet.
 *
 * The page's CSP allows scripts and images from this site (the loader) and from the other demo
 * sites (the beacons the loader injects) and nothing else; its only inline element, the style,
 * carries the response's nonce.
 */
import { randomBytes } from 'node:crypto';
import { SafeHtml, html } from '../hub/views/html';

/** The loader snippet exactly as a page author pastes it (DESIGN.md "The flows", 2). */
export const LOADER_SNIPPET = '<script async src="/shared-session/loader.js"></script>';

/** A demo site as the pages name it. */
export interface DemoSiteInfo {
  /** Display name, e.g. "Shop". */
  name: string;
  origin: string;
  /** How the site takes part, in a few words ("destination SDK", "hub as receiver"). */
  way: string;
  /** Header colour (a CSS colour literal of our own, never user input). */
  accent: string;
}

/** The signed-in visitor as a site sees them; null when nobody is. */
export interface DemoVisitor {
  sid: string;
  sub: string | null;
  email: string | null;
  name: string | null;
  /** The host whose page or bounce brought the session here (the token's `src`). */
  src: string;
}

export interface SitePageModel {
  site: DemoSiteInfo;
  others: readonly DemoSiteInfo[];
  hubUrl: string;
  visitor: DemoVisitor | null;
  /** The site's own URL of this page, where a sign-in bounce returns to. */
  returnTo: string;
}

/** A rendered page: the response headers (CSP included) and the HTML. */
export interface RenderedPage {
  headers: Record<string, string>;
  body: string;
}

/**
 * Renders the page with its headers. The CSP lets the loader inject beacons from the other demo
 * sites and nothing else.
 */
export function renderSitePage(model: SitePageModel): RenderedPage {
  const nonce = randomBytes(16).toString('base64');
  const beaconOrigins = model.others.map((other) => other.origin).join(' ');
  return {
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'self' ${beaconOrigins}; img-src 'self' ${beaconOrigins}; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    },
    body: pageHtml(model, nonce).value,
  };
}

function signInUrl(returnTo: string): string {
  return `/shared-session/start?${new URLSearchParams({ return_to: returnTo, prompt: 'login' }).toString()}`;
}

function visitorCard(model: SitePageModel): SafeHtml {
  const { visitor } = model;
  if (visitor === null) {
    return html`<section class="card" id="session" data-state="signed-out">
<h2>Not signed in</h2>
<p>This site holds no session for this browser.</p>
<p><a class="button" id="sign-in" href="${signInUrl(model.returnTo)}">Sign in</a></p>
</section>`;
  }
  return html`<section class="card" id="session" data-state="signed-in">
<h2>Signed in as <span id="who">${visitor.name ?? visitor.email ?? visitor.sub ?? 'an anonymous visitor'}</span></h2>
<dl>
<dt>E-mail</dt><dd id="email">${visitor.email ?? '—'}</dd>
<dt>Session came from</dt><dd id="src">${visitor.src}</dd>
<dt>Session id (sid)</dt><dd><code id="sid">${visitor.sid}</code></dd>
</dl>
<p class="muted">Sign out at the hub: <a href="${`${model.hubUrl}/logout`}">${model.hubUrl}/logout</a></p>
</section>`;
}

function pageHtml(model: SitePageModel, nonce: string): SafeHtml {
  const { site } = model;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${site.name} · Tessera demo</title>
<style nonce="${nonce}">${styles(site.accent)}</style>
</head>
<body>
<header><strong>${site.name}</strong><span>${site.origin}</span></header>
<main>
<p class="muted">A demo site taking part through the <strong>${site.way}</strong>.</p>
${visitorCard(model)}
<section class="card">
<h2>The other sites</h2>
<ul>
${model.others.map((other) => html`<li><a href="${`${other.origin}/`}">${other.name}</a> <span class="muted">— ${other.way}</span></li>`)}
<li><a href="${`${model.hubUrl}/account`}">The hub</a> <span class="muted">— sign in, your sessions, sign out</span></li>
</ul>
</section>
<section class="card">
<h2>The snippet on this page</h2>
<p>It asks this site's receiver for beacons to every site that does not hold the session yet:</p>
<pre><code>${LOADER_SNIPPET}</code></pre>
</section>
</main>
${new SafeHtml(LOADER_SNIPPET)}
</body>
</html>`;
}

/** Built from our own constants only: the accent is never request data. */
function styles(accent: string): SafeHtml {
  return new SafeHtml(`
:root { color-scheme: light; --accent: ${accent}; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1b1f24; background: #f6f7f9; }
header { display: flex; justify-content: space-between; align-items: baseline; padding: 1rem 1.5rem; background: var(--accent); color: #fff; font-size: 1.2rem; }
header span { font-size: .9rem; opacity: .85; }
main { max-width: 46rem; margin: 1.5rem auto; padding: 0 1.5rem; }
.card { background: #fff; border: 1px solid #dde1e6; border-radius: .5rem; padding: 1rem 1.5rem; margin-bottom: 1rem; }
h2 { font-size: 1.15rem; margin: .25rem 0 .75rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0 0 .75rem; }
dt { font-weight: 600; } dd { margin: 0; }
.muted { color: #5d6570; }
a { color: var(--accent); }
a.button { display: inline-block; padding: .5rem 1.1rem; border-radius: .35rem; background: var(--accent); color: #fff; text-decoration: none; }
pre { background: #f0f2f5; padding: .75rem; border-radius: .35rem; overflow-x: auto; }
`);
}
