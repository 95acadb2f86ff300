/**
 * A cookie-keeping HTTP client for tests against a real server: it stores what Set-Cookie says
 * (honouring Max-Age=0 deletion), sends cookies back, never follows redirects by itself, and
 * pulls CSRF tokens out of pages.
 */
export interface ClientResponse {
  status: number;
  headers: Headers;
  body: string;
  setCookies: string[];
}

export class CookieClient {
  readonly cookies = new Map<string, string>();

  constructor(
    readonly baseUrl: string,
    private readonly defaults: Record<string, string> = {},
  ) {}

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(method: string, path: string, options: { form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<ClientResponse> {
    const headers: Record<string, string> = { ...this.defaults, ...options.headers };
    if (this.cookies.size > 0) headers.cookie = this.cookieHeader();
    let body: string | undefined;
    if (options.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    }
    const res = await fetch(new URL(path, this.baseUrl), { method, headers, body, redirect: 'manual' });
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const deleted = attrs.some((a) => /^max-age=0$/i.test(a)) || value === '';
      if (deleted) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: res.status, headers: res.headers, body: await res.text(), setCookies };
  }

  get(path: string, headers?: Record<string, string>): Promise<ClientResponse> {
    return this.request('GET', path, headers === undefined ? {} : { headers });
  }

  post(path: string, form: Record<string, string>, headers?: Record<string, string>): Promise<ClientResponse> {
    return this.request('POST', path, headers === undefined ? { form } : { form, headers });
  }
}

/** The value of the first `_csrf` hidden field in a page. */
export function csrfFrom(page: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(page);
  if (match === null) throw new Error('no CSRF field in page');
  return match[1]!;
}
