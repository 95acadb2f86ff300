/**
 * The site's calls to the hub's site API (JSON, `Authorization: Bearer <credential>`;
 * docs/site-api.md):
 *
 *   POST <hub>/api/v1/sites/beacons {"sid"} → {"beacons":[{"url","kind"}]}: fresh beacons for the
 *        other sites that do not hold the session yet (empty when all do);
 *   POST <hub>/api/v1/sites/links {"sid","token"} → 204: this site now holds the session, and
 *        `token`, the handoff token it accepted for it, proves so (idempotent: may be repeated);
 *   POST <hub>/api/v1/sites/status {"sid"} → {"active": bool}: is the session still live;
 *   POST <hub>/api/v1/sites/logout {"sid"} → 204: end the session everywhere (sign out here).
 *
 * The hub answers beacons, status and logout only for sessions this site holds (a link), and
 * otherwise as for an unknown sid. The calls go to the configured hub URL only, never to a URL
 * taken from a request, and a redirect counts as a failure. Answers are size-bounded before
 * parsing.
 */
import http from 'node:http';
import https, { type Agent } from 'node:https';
import { TesseraError } from '../core/errors';
import type { Beacon } from '../core/receiver/loader';
import type { DestinationLogger } from './options';

/** Largest answer read from the hub or a webhook. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** What an error code from the hub may look like in a log line. */
const HUB_ERROR_CODE = /^ERR_[A-Z_]{1,60}$/;

export interface PostJsonOptions {
  headers?: Record<string, string>;
  agent: Agent | null;
  timeoutMs: number;
}

/**
 * POSTs `payload` as JSON; resolves with the status and the parsed answer (null when empty or
 * not JSON). Rejects on network errors, timeouts and answers above 64 KiB.
 *
 * @example
 * const { status, body } = await postJson('https://login.example.com/api/v1/sites/links', { sid }, { agent: null, timeoutMs: 3000 });
 */
export function postJson(url: string, payload: unknown, options: PostJsonOptions): Promise<{ status: number; body: unknown }> {
  const target = new URL(url);
  const data = Buffer.from(JSON.stringify(payload));
  const send = target.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': String(data.length), ...options.headers },
        timeout: options.timeoutMs,
        ...(options.agent === null || target.protocol !== 'https:' ? {} : { agent: options.agent }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new Error(`answer larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: parseJson(Buffer.concat(chunks).toString('utf8')) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** The hub's answer to a link report: recorded, or refused for good with the hub's error code. */
export type LinkAnswer = { recorded: true } | { recorded: false; code: string };

export interface HubClientOptions {
  hubUrl: string;
  /** Null: this site has no credential, so it cannot call the API (loader.js stays empty). */
  credential: string | null;
  agent: Agent | null;
  timeoutMs: number;
  logger: DestinationLogger;
}

/**
 * The site API client.
 *
 * @example
 * const hub = new HubClient({ hubUrl, credential, agent: null, timeoutMs: 3000, logger });
 * const beacons = await hub.beacons(sid);
 */
export class HubClient {
  constructor(private readonly options: HubClientOptions) {}

  /** True when a credential is configured. */
  get enabled(): boolean {
    return this.options.credential !== null;
  }

  /**
   * Beacons for the sites that do not hold `sid` yet. Rejects with `ERR_SITE_CREDENTIAL` when
   * the hub refuses the credential and `ERR_HUB_UNAVAILABLE` for anything else unusable.
   */
  async beacons(sid: string): Promise<Beacon[]> {
    const { status, body } = await this.call('/api/v1/sites/beacons', { sid });
    if (status !== 200) throw this.refusal(status);
    const list = (body as { beacons?: unknown } | null)?.beacons;
    if (!Array.isArray(list)) throw new TesseraError('ERR_HUB_UNAVAILABLE', 'the hub answered beacons without a "beacons" list');
    return list.filter(isBeacon).map((b) => ({ url: b.url, kind: b.kind }));
  }

  /**
   * Tells the hub that this site now holds `sid`, proven by `proof`, the handoff token this site
   * accepted for it (one attempt, waiting at most `timeoutMs`, by default the client's; the hub
   * takes the same proof again, so link-report.ts retries with it). A 4xx is a refusal for good,
   * with the hub's code (`ERR_LINK_PROOF`, `ERR_SESSION_ENDED` for an ended session). Rejects with
   * `ERR_SITE_CREDENTIAL` or `ERR_HUB_UNAVAILABLE` like {@link beacons}.
   */
  async link(sid: string, proof: string, timeoutMs?: number): Promise<LinkAnswer> {
    const { status, body } = await this.call('/api/v1/sites/links', { sid, token: proof }, timeoutMs);
    if (status >= 200 && status <= 299) return { recorded: true };
    if (status === 401 || status === 403 || status < 400 || status > 499) throw this.refusal(status);
    const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
    return { recorded: false, code: typeof code === 'string' && HUB_ERROR_CODE.test(code) ? code : `HTTP ${status}` };
  }

  /** Whether the hub still holds `sid` live. Rejects like {@link beacons}. */
  async status(sid: string): Promise<boolean> {
    const { status, body } = await this.call('/api/v1/sites/status', { sid });
    if (status !== 200) throw this.refusal(status);
    const active = (body as { active?: unknown } | null)?.active;
    if (typeof active !== 'boolean') throw new TesseraError('ERR_HUB_UNAVAILABLE', 'the hub answered status without "active"');
    return active;
  }

  /** Asks the hub to end `sid` everywhere (a visitor signed out here). Rejects like {@link beacons}. */
  async logout(sid: string): Promise<void> {
    const { status } = await this.call('/api/v1/sites/logout', { sid });
    if (status < 200 || status > 299) throw this.refusal(status);
  }

  private async call(path: string, payload: Record<string, string>, timeoutMs: number = this.options.timeoutMs): Promise<{ status: number; body: unknown }> {
    const { credential, hubUrl, agent } = this.options;
    if (credential === null) throw new TesseraError('ERR_SITE_CREDENTIAL', 'no "credential" configured for the hub API');
    try {
      return await postJson(`${hubUrl}${path}`, payload, { headers: { authorization: `Bearer ${credential}` }, agent, timeoutMs });
    } catch (cause) {
      throw new TesseraError('ERR_HUB_UNAVAILABLE', `the hub did not answer ${path}`, { cause });
    }
  }

  private refusal(status: number): TesseraError {
    return status === 401 || status === 403
      ? new TesseraError('ERR_SITE_CREDENTIAL', `the hub refused this site's credential (${status})`)
      : new TesseraError('ERR_HUB_UNAVAILABLE', `the hub answered ${status}`);
  }
}

/** A beacon as the hub describes it: an absolute http(s) URL and a known kind. */
function isBeacon(value: unknown): value is Beacon {
  if (typeof value !== 'object' || value === null) return false;
  const { url, kind } = value as { url?: unknown; kind?: unknown };
  if (typeof url !== 'string' || (kind !== 'script' && kind !== 'image')) return false;
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}
