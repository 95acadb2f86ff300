/**
 * Shared pieces of the handoff tests: a hub configured with three sites, a browser that can
 * address the hub under a site's host name (fetch drops a `Host` header, so this speaks
 * node:http), captured log lines, and hand-built tokens signed with the hub's own key.
 */
import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import { nowSeconds } from '../../src/core/clock';
import { createSessionRecord, formatCookieValue } from '../../src/core/sessions/session';
import { createLogger } from '../../src/log/logger';
import type { SessionRecord, UserRecord } from '../../src/ports';
import type { HubDeps } from '../../src/hub/deps';
import { startTestHub, testConfig, type TestHub } from '../support/hub';

export const HUB = 'https://hub.example.com';
export const HUB_HOST = 'hub.example.com';
/** Hub as receiver: the proxy routes /shared-session/ here with Host kept. */
export const SHOP = 'https://shop.example.net';
export const SHOP_HOST = 'shop.example.net';
/** An SDK site. */
export const WWW = 'https://www.example.org';
export const WWW_HOST = 'www.example.org';
/** A site with image beacons under another prefix. */
export const BLOG = 'https://blog.example.com';
export const BLOG_HOST = 'blog.example.com';

export const credentials = {
  shop: 'shop-credential-0123456789abcdef',
  www: 'www-credential-0123456789abcdef',
} as const;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export function handoffSites(): unknown[] {
  return [
    { origin: SHOP, claims: ['email', 'name'], credentialHash: sha256(credentials.shop) },
    { origin: WWW, claims: ['email', 'roles'], credentialHash: sha256(credentials.www) },
    { origin: BLOG, receiverPath: '/sso/', beacon: 'image', cookie: { name: 'blog_sid', sameSite: 'lax', maxAgeSeconds: 3600 } },
  ];
}

/** Log lines the hub wrote, parsed. */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  readonly stream = { write: (line: string) => void this.lines.push(JSON.parse(line) as Record<string, unknown>) };

  /** Codes of the lines with message `msg`, in order. */
  codes(msg: string): unknown[] {
    return this.lines.filter((l) => l.msg === msg).map((l) => l.code);
  }

  clear(): void {
    this.lines.length = 0;
  }
}

export interface HandoffHub extends TestHub {
  logs: LogCapture;
  /** Host header value that reaches the hub's own pages. */
  ownHost: string;
}

export async function startHandoffHub(env: Record<string, string> = {}, overrides: Omit<Partial<HubDeps>, 'clock'> = {}): Promise<HandoffHub> {
  const logs = new LogCapture();
  const hub = await startTestHub({
    config: testConfig({ TESSERA_SITES: JSON.stringify(handoffSites()), ...env }),
    logger: createLogger({ level: 'info', destination: logs.stream }),
    ...overrides,
  });
  return { ...hub, logs, ownHost: new URL(hub.url).host };
}

export interface SignedIn {
  user: UserRecord;
  record: SessionRecord;
  /** Value of the hub cookie `__Host-tessera`. */
  hubCookie: string;
}

let userCount = 0;

/** A user and a live hub session of theirs, stored directly. */
export async function signedInSession(hub: TestHub, options: { roles?: string[] } = {}): Promise<SignedIn> {
  userCount += 1;
  const user = await hub.deps.users.create({ email: `user${userCount}@example.com`, name: `User ${userCount}`, roles: options.roles ?? ['editor'] });
  const created = createSessionRecord({ userId: user.id, ip: null, userAgent: null, now: nowSeconds(hub.clock) }, hub.deps.config.sessions);
  await hub.deps.sessions.create(created.record);
  return { user, record: created.record, hubCookie: formatCookieValue(created.record.sid, created.secret) };
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

/** A compact JWS from raw header and payload JSON text, RS256-signed with `key` (default: the hub's signing key). */
export function forgeRaw(hub: TestHub, headerJson: string, payloadJson: string, key?: KeyObject): string {
  const input = `${b64(headerJson)}.${b64(payloadJson)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key ?? hub.deps.keyring.signingKey().privateKey).toString('base64url')}`;
}

export function forge(hub: TestHub, header: Record<string, unknown>, payload: Record<string, unknown>, key?: KeyObject): string {
  return forgeRaw(hub, JSON.stringify(header), JSON.stringify(payload), key);
}

export function goodHeader(hub: TestHub, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { alg: 'RS256', typ: 'handoff+jwt', kid: hub.deps.keyring.signingKey().kid, ...extra };
}

/** Handoff claims for `sid` to `origin`; an `undefined` in `extra` leaves that claim out. */
export function claimsFor(hub: TestHub, origin: string, sid: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds(hub.clock);
  return { iss: HUB, aud: origin, sid, src: HUB_HOST, dst: new URL(origin).host, iat: now, exp: now + 30, jti: randomBytes(16).toString('base64url'), ...extra };
}

/** The decoded payload of a compact JWS. */
export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  setCookies: string[];
  location: string | undefined;
}

/**
 * A browser's view of the hub under several host names: one cookie jar per host (paths are not
 * modelled), redirects never followed.
 */
export class Browser {
  readonly jars = new Map<string, Map<string, string>>();
  private readonly port: number;

  constructor(hubUrl: string) {
    this.port = Number(new URL(hubUrl).port);
  }

  jar(host: string): Map<string, string> {
    let jar = this.jars.get(host);
    if (jar === undefined) {
      jar = new Map();
      this.jars.set(host, jar);
    }
    return jar;
  }

  request(host: string, method: string, path: string, options: { form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
    const jar = this.jar(host);
    const headers: Record<string, string> = { host, ...options.headers };
    if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (options.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    } else if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const setCookies = res.headers['set-cookie'] ?? [];
          for (const line of setCookies) {
            const [pair, ...attrs] = line.split(';').map((s) => s.trim());
            const eq = pair!.indexOf('=');
            const name = pair!.slice(0, eq);
            const value = pair!.slice(eq + 1);
            if (attrs.some((a) => /^max-age=0$/i.test(a)) || value === '') jar.delete(name);
            else jar.set(name, value);
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), setCookies, location: res.headers.location });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  get(host: string, path: string, headers?: Record<string, string>): Promise<Reply> {
    return this.request(host, 'GET', path, headers === undefined ? {} : { headers });
  }
}

/** The hidden field `name` of a rendered form. */
export function formField(page: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(page);
  if (match === null) throw new Error(`no field ${name} in page`);
  return match[1]!.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>');
}
