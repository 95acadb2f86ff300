/**
 * Shared pieces of the fault suites: a hub process configured for them (two sites whose receiver
 * is the hub, login limits out of the way of a load loop), the `tessera` CLI as a process, a
 * browser that speaks to that hub under several host names with every request bounded in time,
 * and the journeys a load loop repeats — password sign-in, a beacon accepted by one site, a
 * bounce accepted by another — each recording what the hub accepted, so that a suite can check
 * after a fault that none of it was lost.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';

export const HUB = 'https://hub.example.com';
export const HUB_HOST = 'hub.example.com';
/** Both sites route `/shared-session/` to the hub (the hub is their receiver). */
export const SHOP = 'https://shop.example.net';
export const SHOP_HOST = 'shop.example.net';
export const BLOG = 'https://blog.example.org';
export const BLOG_HOST = 'blog.example.org';
export const EMAIL = 'fault@example.com';
export const PASSWORD = 'correct horse battery staple';
/** The hub's session cookie and the sites' receiver cookie: never set by a failed request. */
export const SESSION_COOKIES = ['__Host-tessera', 'tessera_session'];

const cliPath = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

/**
 * TESSERA_* variables for a hub whose files live in `dir`, plus `extra`. `sites` replaces the
 * default two sites (e.g. to add a `backchannelLogoutUri`).
 */
export function faultHubEnv(dir: string, extra: Record<string, string> = {}, sites: unknown[] = [{ origin: SHOP }, { origin: BLOG }]): Record<string, string> {
  return {
    TESSERA_PUBLIC_URL: HUB,
    TESSERA_SITES: JSON.stringify(sites),
    TESSERA_KEYS_DIR: join(dir, 'keys'),
    TESSERA_MAIL_DIR: join(dir, 'mail'),
    // A load loop signs in from one address many times; the limits have their own tests.
    TESSERA_LOGIN_ADDRESS_LIMIT: '1000000',
    TESSERA_LOGIN_ACCOUNT_LIMIT: '1000000',
    ...extra,
  };
}

/** Runs `node dist/cli/main.js …args` with `env` (and nothing TESSERA_* of ours) in `cwd`; resolves with stdout. */
export function runCli(args: string[], env: Record<string, string>, cwd: string, input = ''): Promise<string> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TESSERA_'))) as Record<string, string>;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env: { ...base, ...env }, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`tessera ${args.join(' ')} exited with ${String(code)}:\n${err}${out}`));
    });
    child.stdin.end(input);
  });
}

/** Creates the password user of the fault suites through the CLI, against the hub's stores. */
export async function addFaultUser(env: Record<string, string>, cwd: string): Promise<void> {
  await runCli(['users', 'add', '--email', EMAIL, '--password-stdin'], env, cwd, `${PASSWORD}\n`);
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  setCookies: string[];
  /** Milliseconds from sending the request to the end of the answer. */
  ms: number;
}

/** True when `reply` sets (not deletes) the hub's session cookie or a site's receiver cookie. */
export function setsSessionCookie(reply: Reply): boolean {
  return reply.setCookies.some((line) => SESSION_COOKIES.some((name) => line.startsWith(`${name}=`)) && !/;\s*max-age=0(;|$)/i.test(line));
}

/** The stable error code of an error answer (JSON or the HTML error page), or null. */
export function errorCode(reply: Reply): string | null {
  try {
    const code = (JSON.parse(reply.body) as { error?: { code?: unknown } }).error?.code;
    if (typeof code === 'string') return code;
  } catch {
    // An HTML error page names its code in <code>.
  }
  return /<code>(ERR_[A-Z_]+)<\/code>/.exec(reply.body)?.[1] ?? null;
}

/**
 * A browser's view of one hub process under several host names: one cookie jar per host (paths
 * are not modelled), redirects never followed, every request aborted after `timeoutMs`.
 */
export class HubBrowser {
  readonly jars = new Map<string, Map<string, string>>();

  constructor(
    public hubUrl: string,
    private readonly timeoutMs = 10_000,
  ) {}

  jar(host: string): Map<string, string> {
    let jar = this.jars.get(host);
    if (jar === undefined) {
      jar = new Map();
      this.jars.set(host, jar);
    }
    return jar;
  }

  request(host: string, method: string, path: string, options: { form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Reply> {
    const jar = this.jar(host);
    const headers: Record<string, string> = { host, accept: 'text/html', ...options.headers };
    if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (options.form !== undefined) {
      body = new URLSearchParams(options.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const { hostname, port } = new URL(this.hubUrl);
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request({ host: hostname, port, method, path, headers, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const setCookies = res.headers['set-cookie'] ?? [];
          for (const line of setCookies) {
            const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
            const eq = pair.indexOf('=');
            const name = pair.slice(0, eq);
            const value = pair.slice(eq + 1);
            if (attrs.some((a) => /^max-age=0$/i.test(a)) || value === '') jar.delete(name);
            else jar.set(name, value);
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), setCookies, ms: performance.now() - started });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${host}${path} took longer than ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  get(host: string, path: string, headers?: Record<string, string>): Promise<Reply> {
    return this.request(host, 'GET', path, headers === undefined ? {} : { headers });
  }

  post(host: string, path: string, form: Record<string, string>, headers?: Record<string, string>): Promise<Reply> {
    return this.request(host, 'POST', path, headers === undefined ? { form } : { form, headers });
  }
}

/** The value of hidden field `name` in a rendered form. */
export function hiddenField(page: string, name: string): string | null {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(page);
  return match === null ? null : match[1]!.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>');
}

/** The path of the beacon for `origin` in a fan-out page, or null. */
export function beaconPath(page: string, origin: string): string | null {
  const escaped = origin.replaceAll('.', '\\.');
  return new RegExp(`src="${escaped}(/shared-session/[A-Za-z0-9_.-]+\\.(?:js|gif))"`).exec(page)?.[1] ?? null;
}

/** One request a journey made and what came back. */
export interface Step {
  /** What the step does, e.g. `POST /login`. */
  name: string;
  /** Whether the hub needs its stores to answer it. */
  needsStore: boolean;
  /** When the request was sent and answered (performance.now()). */
  startedAt: number;
  endedAt: number;
  reply: Reply | null;
  /** A transport failure (timeout, connection refused) instead of a reply. */
  error: string | null;
}

/** What one journey got the hub to accept. */
export interface Journey {
  browser: HubBrowser;
  /** Sign-in answered 2xx: the hub cookie. */
  signedIn: boolean;
  /** The beacon for shop answered 2xx: shop's cookie. */
  beaconAccepted: boolean;
  /** The bounce to blog came back with blog's cookie. */
  bounceAccepted: boolean;
  /** The hub cookie the sign-in set (kept after a sign-out clears it from the jar). */
  hubCookie: string | null;
  /** Sign-out at the hub: not tried, answered 200, or no answer (unknown outcome). */
  signOut: 'none' | 'done' | 'no-answer';
  steps: Step[];
}

async function step(journey: Pick<Journey, 'steps'>, name: string, needsStore: boolean, send: () => Promise<Reply>): Promise<Reply | null> {
  const startedAt = performance.now();
  try {
    const reply = await send();
    journey.steps.push({ name, needsStore, startedAt, endedAt: performance.now(), reply, error: null });
    return reply;
  } catch (err) {
    journey.steps.push({ name, needsStore, startedAt, endedAt: performance.now(), reply: null, error: (err as Error).message });
    return null;
  }
}

const sameOrigin = { origin: HUB, 'sec-fetch-site': 'same-origin' };

/**
 * One person's visit: the login page, a password sign-in, shop's beacon from the fan-out page,
 * then a bounce that brings the session to blog. Stops at the first step that fails.
 */
export async function signInJourney(hubUrl: string): Promise<Journey> {
  const browser = new HubBrowser(hubUrl);
  const journey: Journey = { browser, signedIn: false, beaconAccepted: false, bounceAccepted: false, hubCookie: null, signOut: 'none', steps: [] };
  const page = await step(journey, 'GET /login', false, () => browser.get(HUB_HOST, '/login'));
  const csrf = page?.status === 200 ? hiddenField(page.body, '_csrf') : null;
  if (csrf === null) return journey;
  const login = await step(journey, 'POST /login', true, () => browser.post(HUB_HOST, '/login', { _csrf: csrf, email: EMAIL, password: PASSWORD }, sameOrigin));
  if (login?.status !== 200 || !browser.jar(HUB_HOST).has('__Host-tessera')) return journey;
  journey.signedIn = true;
  journey.hubCookie = browser.jar(HUB_HOST).get('__Host-tessera') ?? null;

  const beacon = beaconPath(login.body, SHOP);
  if (beacon === null) throw new Error('the fan-out page after sign-in has no beacon for shop');
  const accepted = await step(journey, 'GET shop beacon', true, () => browser.get(SHOP_HOST, beacon, { referer: `${HUB}/` }));
  if (accepted?.status !== 200) return journey;
  journey.beaconAccepted = true;

  await bounce(journey, BLOG, BLOG_HOST);
  return journey;
}

/** {@link signInJourney}, then sign out at the hub (which ends the session at shop and blog too). */
export async function signInAndOutJourney(hubUrl: string): Promise<Journey> {
  const journey = await signInJourney(hubUrl);
  if (!journey.bounceAccepted) return journey;
  const { browser } = journey;
  const page = await step(journey, 'GET /logout', true, () => browser.get(HUB_HOST, '/logout'));
  const csrf = page?.status === 200 ? hiddenField(page.body, '_csrf') : null;
  if (csrf === null) return journey;
  const done = await step(journey, 'POST /logout', true, () => browser.post(HUB_HOST, '/logout', { _csrf: csrf }, sameOrigin));
  journey.signOut = done === null ? 'no-answer' : done.status === 200 ? 'done' : 'none';
  return journey;
}

/** Handoffs minted but not yet used: shop's beacon from the fan-out page, blog's bounce form. */
export interface HeldHandoffs {
  journey: Journey;
  beacon: string;
  /** The fields of the form `/handoff` answered for blog (token, state, return_to). */
  blogForm: Record<string, string>;
}

/** Signs in and takes a beacon and a bounce form, without presenting either yet. */
export async function holdHandoffs(hubUrl: string): Promise<HeldHandoffs> {
  const browser = new HubBrowser(hubUrl);
  const page = await browser.get(HUB_HOST, '/login');
  const login = await browser.post(HUB_HOST, '/login', { _csrf: hiddenField(page.body, '_csrf') ?? '', email: EMAIL, password: PASSWORD }, sameOrigin);
  const beacon = beaconPath(login.body, SHOP);
  const hubCookie = browser.jar(HUB_HOST).get('__Host-tessera') ?? null;
  const journey: Journey = { browser, signedIn: login.status === 200 && hubCookie !== null, beaconAccepted: false, bounceAccepted: false, hubCookie, signOut: 'none', steps: [] };
  const start = await browser.get(BLOG_HOST, `/shared-session/start?${new URLSearchParams({ return_to: `${BLOG}/`, prompt: 'none' }).toString()}`);
  const handoff = new URL(start.headers.location ?? '/', HUB);
  const form = await browser.get(HUB_HOST, `${handoff.pathname}${handoff.search}`);
  const fields = Object.fromEntries(['token', 'state', 'return_to'].map((name) => [name, hiddenField(form.body, name) ?? '']));
  if (beacon === null || fields.token === '') throw new Error(`could not hold handoffs: sign-in ${login.status}, /handoff ${form.status}`);
  return { journey, beacon, blogForm: fields };
}

/** A bounce through the hub to `origin` (a site whose receiver is the hub); true once its cookie is set. */
export async function bounce(journey: Pick<Journey, 'browser' | 'steps' | 'bounceAccepted'>, origin: string, host: string): Promise<boolean> {
  const { browser } = journey;
  const start = await step(journey, `GET ${host} start`, false, () => browser.get(host, `/shared-session/start?${new URLSearchParams({ return_to: `${origin}/`, prompt: 'none' }).toString()}`));
  const location = start?.status === 303 ? start.headers.location : undefined;
  // The hub's public URL (HUB, or whatever the suite configured) followed by /handoff.
  if (location === undefined || new URL(location).pathname !== '/handoff') return false;
  const handoff = new URL(location);
  const form = await step(journey, 'GET /handoff', true, () => browser.get(HUB_HOST, `${handoff.pathname}${handoff.search}`));
  const token = form?.status === 200 ? hiddenField(form.body, 'token') : null;
  if (form === null || token === null) return false;
  const accept = await step(journey, `POST ${host} accept`, true, () =>
    browser.post(host, '/shared-session/accept', { token, state: hiddenField(form.body, 'state') ?? '', return_to: hiddenField(form.body, 'return_to') ?? '' }),
  );
  if (accept?.status !== 303 || !setsSessionCookie(accept)) return false;
  if (origin === BLOG) journey.bounceAccepted = true;
  return true;
}

/**
 * `workers` loops of journeys (`journeyKinds` in turn; default {@link signInJourney}) until
 * `stop()`; every journey is kept. `hubUrl` is read at each journey's start, so a suite can point
 * the loop at a restarted hub.
 */
export function loadLoop(target: { hubUrl: string }, workers: number, journeyKinds: ReadonlyArray<(hubUrl: string) => Promise<Journey>> = [signInJourney]): { journeys: Journey[]; stop(): Promise<void> } {
  const journeys: Journey[] = [];
  let running = true;
  let started = 0;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const kind = journeyKinds[started++ % journeyKinds.length]!;
      const journey = await kind(target.hubUrl);
      journeys.push(journey);
      // A hub that does not answer at all must not turn the loop into a busy spin.
      if (journey.steps.some((s) => s.error !== null)) await sleep(50);
    }
  });
  return {
    journeys,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Every step of `journeys`, flattened. */
export function allSteps(journeys: readonly Journey[]): Step[] {
  return journeys.flatMap((j) => j.steps);
}

/** Polls `GET path` until it answers `status`; rejects after `timeoutMs`. Resolves with the time it took. */
export async function waitForStatus(hubUrl: string, path: string, status: number, timeoutMs: number): Promise<number> {
  const browser = new HubBrowser(hubUrl, 2000);
  const started = performance.now();
  for (;;) {
    const reply = await browser.get(HUB_HOST, path, { accept: 'application/json' }).catch(() => null);
    if (reply?.status === status) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`GET ${path} did not answer ${status} within ${timeoutMs} ms (last: ${reply?.status ?? 'no answer'})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 50 ms until it holds; rejects with `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * What a journey's cookies still get from the hub: whether the hub session is signed in
 * (`/account` 200), and the sid each site's receiver reports from its cookie (`session.json`).
 */
export async function stillAccepted(journey: Journey, hubUrl: string): Promise<{ account: number; shop: string | null; blog: string | null }> {
  const browser = journey.browser;
  browser.hubUrl = hubUrl;
  // The cookie the sign-in set, even if a sign-out deleted it since: is that session still live?
  if (journey.hubCookie !== null) browser.jar(HUB_HOST).set('__Host-tessera', journey.hubCookie);
  const account = (await browser.get(HUB_HOST, '/account')).status;
  const sidAt = async (host: string) => {
    const reply = await browser.get(host, '/shared-session/session.json', { accept: 'application/json' });
    return reply.status === 200 ? ((JSON.parse(reply.body) as { sid?: string }).sid ?? null) : null;
  };
  return { account, shop: journey.beaconAccepted ? await sidAt(SHOP_HOST) : null, blog: journey.bounceAccepted ? await sidAt(BLOG_HOST) : null };
}

/** The sid of the session a journey signed in to. */
export function hubSid(journey: Journey): string | null {
  return journey.hubCookie?.split('.')[0] ?? null;
}
