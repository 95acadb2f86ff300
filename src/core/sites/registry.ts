/**
 * The allow-list of sites and the URL rules built on it (SECURITY.md "Cookies and browser
 * surface"): redirect targets and token destinations are compared as exact origins after WHATWG
 * URL parsing, never by prefix or substring, and never taken from `Host` or `Referer`.
 */

/** What the registry needs to know of a configured site. */
export interface SiteEntry {
  origin: string;
}

/** The origin of `input` after WHATWG parsing, or null when it is not an http(s) URL. */
export function originOf(input: string): string | null {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username !== '' || url.password !== '') return null;
  return url.origin;
}

export class SiteRegistry<S extends SiteEntry = SiteEntry> {
  private readonly byOrigin = new Map<string, S>();
  private readonly byHostName = new Map<string, S>();
  private readonly hubHost: string;

  /**
   * @param hubOrigin the hub's public origin (`publicUrl`)
   * @param sites the configured sites; origins must already be normalised (config does this)
   */
  constructor(
    readonly hubOrigin: string,
    sites: readonly S[],
  ) {
    this.hubHost = new URL(hubOrigin).host;
    for (const site of sites) {
      this.byOrigin.set(site.origin, site);
      this.byHostName.set(new URL(site.origin).host, site);
    }
  }

  /** The site whose origin is exactly the origin of `url`, or null. */
  resolve(url: string): S | null {
    const origin = originOf(url);
    return origin === null ? null : (this.byOrigin.get(origin) ?? null);
  }

  /** The site served at `host` (host[:port] as in the `Host` header / `dst` claim), or null. */
  byHost(host: string): S | null {
    return this.byHostName.get(host.toLowerCase()) ?? null;
  }

  /** `src` claims may name the hub or a configured site. */
  isKnownSource(host: string): boolean {
    return host === this.hubHost || this.byHostName.has(host);
  }

  /** The host part of the hub's origin (the `src` of tokens the hub mints itself). */
  get hubHostName(): string {
    return this.hubHost;
  }

  all(): S[] {
    return [...this.byOrigin.values()];
  }

  /**
   * `return_to` as a safe absolute URL: honoured only when its origin is exactly the hub's or a
   * configured site's; otherwise `fallback`. Relative paths resolve against the hub.
   */
  safeReturnTo(returnTo: string | undefined | null, fallback: string): string {
    if (returnTo === undefined || returnTo === null || returnTo === '') return fallback;
    // Protocol-relative (`//evil.example`) and backslash tricks are resolved by WHATWG parsing
    // against the hub and then fail the origin comparison like any other foreign URL.
    let url: URL;
    try {
      url = new URL(returnTo, this.hubOrigin);
    } catch {
      return fallback;
    }
    if (url.username !== '' || url.password !== '') return fallback;
    if (url.origin === this.hubOrigin || this.byOrigin.has(url.origin)) return url.href;
    return fallback;
  }

  /** True when `url` is on exactly the origin of `site` (bounce `return_to` check). */
  isOnSite(url: string, site: S): boolean {
    return originOf(url) === site.origin;
  }
}
