/**
 * Test doubles and harness for the destination SDK, all over real HTTPS on loopback with a
 * self-signed certificate from `selfsigned`:
 * - a stand-in hub: its JWKS from a real Keyring (hits counted, can be switched off), real
 *   handoff tokens from mintHandoff, and fake site-API endpoints recording every call;
 * - a Koa site running the SDK, with `/whoami` answering `ctx.state.tessera`;
 * - a cookie-keeping HTTPS client that honours cookie paths and Max-Age=0, and never follows
 *   redirects;
 * - a logger that records lines.
 */
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { generate } from 'selfsigned';
import type { FrozenClock } from '../../src/core/clock';
import { Keyring } from '../../src/core/keys/keyring';
import type { Beacon } from '../../src/core/receiver/loader';
import { mintHandoff, type HandoffInput } from '../../src/core/tokens/handoff';
import { createDestination, type Destination, type DestinationLogger, type DestinationOptions } from '../../src/destination';
import { MemoryKeyStore } from '../../src/stores/memory/key-store';

export interface Tls {
  key: string;
  cert: string;
}

let tlsMaterial: Promise<Tls> | null = null;

/** One self-signed certificate for 127.0.0.1 and localhost per test file. */
export function testTls(): Promise<Tls> {
  tlsMaterial ??= generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  }).then((pems) => ({ key: pems.private, cert: pems.cert }));
  return tlsMaterial;
}

export interface HttpsServer {
  url: string;
  host: string;
  close(): Promise<void>;
}

/** An HTTPS server on a free loopback port; `listener` may be swapped after start. */
export async function listenHttps(tls: Tls, listener: { current: RequestListener }): Promise<HttpsServer> {
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => listener.current(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A call the stand-in hub's site API received. */
export interface ApiCall {
  sid: unknown;
  authorization: string | undefined;
}

/** A link report the stand-in hub received: also the proof it carried. */
export interface LinkCall extends ApiCall {
  token: unknown;
}

export interface StandInHub extends HttpsServer {
  keyring: Keyring;
  clock: FrozenClock;
  /** How many times the JWKS was fetched. */
  jwksHits: number;
  /** While true the JWKS answers 503. */
  jwksDown: boolean;
  beaconCalls: ApiCall[];
  linkCalls: LinkCall[];
  statusCalls: ApiCall[];
  /** Sids of the link reports answered 204: `/api/v1/sites/status` answers active for these only, like the hub. */
  linked: Set<string>;
  /** What `/api/v1/sites/beacons` answers (status 200 with `{ beacons }`). */
  beaconsToAnswer: Beacon[];
  /**
   * How the next link reports are answered, one entry each, then 204: a status (with the hub's
   * error body `{ error: { code } }` for a 4xx, `code` defaulting to ERR_LINK_PROOF), or `hang`:
   * no answer at all until the hub closes.
   */
  linkAnswers: ({ status: number; code?: string } | number | 'hang')[];
  /** The credential the API accepts; anything else gets 401. */
  credential: string;
  /** A real handoff token from the keyring (src defaults to the hub's host). */
  mint(input: Omit<HandoffInput, 'src'> & { src?: string }, ttlSeconds?: number): string;
  /** A compact JWS with the given header and claims, RS256-signed by `key` (default: the hub's key). */
  forge(header: Record<string, unknown>, claims: Record<string, unknown>, key?: KeyObject): string;
  /** Registered claims of a valid token for `audience`, to alter one by one. */
  claimsFor(audience: string, sid: string): Record<string, unknown>;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

/** A sid as the hub issues them: 128 random bits, base64url. */
export function newSid(): string {
  return randomBytes(16).toString('base64url');
}

export async function startStandInHub(tls: Tls, clock: FrozenClock): Promise<StandInHub> {
  const keyring = await Keyring.open(new MemoryKeyStore(), { algorithm: 'RS256', clock, maxTokenTtlSeconds: 125, jwksMaxAgeSeconds: 300 });
  const listener: { current: RequestListener } = { current: () => undefined };
  const server = await listenHttps(tls, listener);
  const hub: StandInHub = {
    ...server,
    keyring,
    clock,
    jwksHits: 0,
    jwksDown: false,
    beaconCalls: [],
    linkCalls: [],
    statusCalls: [],
    linked: new Set(),
    beaconsToAnswer: [],
    linkAnswers: [],
    credential: 'site-credential-0123456789abcdef',
    mint: (input, ttlSeconds = 30) => mintHandoff(keyring, { src: server.host, ...input }, { clock, issuer: server.url, ttlSeconds }),
    forge(header, claims, key = keyring.signingKey().privateKey) {
      const signingInput = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;
      return `${signingInput}.${sign('sha256', Buffer.from(signingInput), key).toString('base64url')}`;
    },
    claimsFor(audience, sid) {
      const iat = Math.floor(clock.now() / 1000);
      return { iss: server.url, aud: audience, sub: 'user-1', sid, src: server.host, dst: new URL(audience).host, iat, exp: iat + 30, jti: newSid() };
    },
  };
  listener.current = (req, res) => void answerHub(hub, req, res);
  return hub;
}

async function answerHub(hub: StandInHub, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
    hub.jwksHits += 1;
    if (hub.jwksDown) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify(hub.keyring.jwks()));
    return;
  }
  if (req.method === 'POST' && (req.url === '/api/v1/sites/beacons' || req.url === '/api/v1/sites/links' || req.url === '/api/v1/sites/status')) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { sid?: unknown; token?: unknown };
    const call = { sid: body.sid, authorization: req.headers.authorization };
    const endpoint = req.url.slice('/api/v1/sites/'.length);
    if (endpoint === 'beacons') hub.beaconCalls.push(call);
    else if (endpoint === 'status') hub.statusCalls.push(call);
    else hub.linkCalls.push({ ...call, token: body.token });
    if (call.authorization !== `Bearer ${hub.credential}`) {
      res.writeHead(401).end();
      return;
    }
    if (endpoint === 'beacons') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ beacons: hub.beaconsToAnswer }));
      return;
    }
    if (endpoint === 'status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ active: typeof call.sid === 'string' && hub.linked.has(call.sid) }));
      return;
    }
    const next = hub.linkAnswers.shift() ?? 204;
    if (next === 'hang') return;
    const { status, code = 'ERR_LINK_PROOF' } = typeof next === 'number' ? { status: next } : next;
    if (status >= 400 && status < 500) res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code, message: 'refused' } }));
    else res.writeHead(status).end();
    if (status === 204 && typeof call.sid === 'string') hub.linked.add(call.sid);
    return;
  }
  res.writeHead(404).end();
}

/** Records log lines, for asserting reason codes (and that no token is ever logged). */
export class RecordingLogger implements DestinationLogger {
  readonly lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  debug(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'debug', fields, message });
  }
  info(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'info', fields, message });
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'warn', fields, message });
  }
  error(fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level: 'error', fields, message });
  }
  /** The `code` of every warn/error line, in order. */
  codes(): unknown[] {
    return this.lines.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.fields.code);
  }
  text(): string {
    return JSON.stringify(this.lines);
  }
}

export interface TestSite extends HttpsServer {
  destination: Destination;
  logger: RecordingLogger;
}

/**
 * A Koa site on the SDK: `middleware()`, then `extra` (e.g. requireSession), then `/whoami`
 * answering `{ tessera, session }` as JSON. Options default to the stand-in hub, its CA and a
 * recording logger.
 */
export async function startKoaSite(
  tls: Tls,
  hub: StandInHub,
  options: Partial<DestinationOptions> = {},
  extra: (destination: Destination) => Koa.Middleware[] = () => [],
): Promise<TestSite> {
  const listener: { current: RequestListener } = { current: () => undefined };
  const server = await listenHttps(tls, listener);
  const logger = new RecordingLogger();
  const destination = createDestination({ hubUrl: hub.url, siteOrigin: server.url, ca: tls.cert, clock: hub.clock, logger, credential: hub.credential, ...options });
  const app = new Koa();
  app.use(destination.middleware());
  for (const mw of extra(destination)) app.use(mw);
  app.use((ctx) => {
    ctx.body = { tessera: ctx.state.tessera, session: (ctx as unknown as { session: unknown }).session };
  });
  listener.current = app.callback();
  return {
    ...server,
    destination,
    logger,
    close: async () => {
      await destination.close();
      await server.close();
    },
  };
}

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  raw: Buffer;
  setCookies: string[];
}

/** A cookie-keeping HTTPS client trusting the test certificate. */
export class Browser {
  /** name → { value, path }; one jar for every host (browsers do not separate cookies by port). */
  readonly cookies = new Map<string, { value: string; path: string }>();
  private readonly agent: https.Agent;

  constructor(tls: Tls) {
    this.agent = new https.Agent({ ca: tls.cert });
  }

  request(method: string, url: string, options: { form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url);
    const headers: Record<string, string> = { ...options.headers };
    const cookie = [...this.cookies]
      .filter(([, c]) => target.pathname.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
    if (cookie !== '') headers.cookie = cookie;
    const body = options.form === undefined ? undefined : new URLSearchParams(options.form).toString();
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    return new Promise((resolve, reject) => {
      const req = https.request(target, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const setCookies = res.headers['set-cookie'] ?? [];
          for (const line of setCookies) this.store(line);
          const raw = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString('utf8'), raw, setCookies });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  get(url: string, headers?: Record<string, string>): Promise<Response> {
    return this.request('GET', url, headers === undefined ? {} : { headers });
  }

  post(url: string, form: Record<string, string>, headers?: Record<string, string>): Promise<Response> {
    return this.request('POST', url, headers === undefined ? { form } : { form, headers });
  }

  /** What `/whoami` says about this browser on `site`. */
  async whoami(site: HttpsServer): Promise<{ tessera: unknown; session: unknown }> {
    return JSON.parse((await this.get(`${site.url}/whoami`)).body) as { tessera: unknown; session: unknown };
  }

  private store(line: string): void {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const path = attributes.find((a) => /^path=/i.test(a))?.slice(5) ?? '/';
    const expired = attributes.some((a) => /^max-age=0$/i.test(a) || /^expires=thu, 01 jan 1970/i.test(a)) || value === '';
    if (expired) this.cookies.delete(name);
    else this.cookies.set(name, { value, path });
  }
}

/** The attributes of the Set-Cookie line for `name` (lower-cased names), or null. */
export function cookieAttributes(setCookies: string[], name: string): Record<string, string> | null {
  const line = setCookies.find((l) => l.startsWith(`${name}=`));
  if (line === undefined) return null;
  const [, ...attributes] = line.split(';').map((part) => part.trim());
  return Object.fromEntries(attributes.map((a) => {
    const eq = a.indexOf('=');
    return eq === -1 ? [a.toLowerCase(), ''] : [a.slice(0, eq).toLowerCase(), a.slice(eq + 1)];
  }));
}
