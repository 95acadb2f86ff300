/**
 * Telling the hub that this site now holds a session (`POST <hub>/api/v1/sites/links`), with the
 * handoff token the site has just accepted as the proof: the hub records no link without one,
 * and answers beacons, status and logout only for sessions this site holds (docs/site-api.md).
 * The report is idempotent at the hub: the same proof may be sent again, so every failure is
 * simply retried with it.
 *
 * - The report is made before the request that accepted the token answers, so the next request
 *   (a `requireActiveSession()` status check, `loader.js`) finds the link at the hub. That
 *   attempt waits at most `linkReportTimeoutMs` (500 ms by default): a hung hub must not hold
 *   the beacon or `accept` answer for the whole `hubTimeoutMs`.
 * - When it does not reach the hub, the accepting request keeps the token in the site session
 *   (kept-proof.ts), to be reported again before the next `loader.js`, `beaconTags()` or status
 *   check relies on the link, and it is retried in the background after about 1, 5 and 20
 *   seconds (each ±25 %, so the retries of many visitors do not hit a recovering hub at once).
 *   At most `maxPending` retries wait at a time, one per sid (a newer proof replaces an older
 *   one); beyond that a report gets no background retry and relies on its kept proof.
 * - A refusal (a 4xx: a bad proof, a wrong credential) is final: logged once with its code, never
 *   retried.
 * - So is the hub's answer that the session has ended (`404 ERR_SESSION_ENDED`: it was revoked before
 *   the link reached the hub, which then had no reason to send this site a back-channel logout).
 *   The outcome is `ended`, and the callers end the session here as that logout would
 *   (handoff.ts, kept-proof.ts, `onSettled` for a background retry).
 * No log line carries the token.
 */
import { randomInt } from 'node:crypto';
import type { HubClient } from './hub-client';
import type { DestinationLogger } from './options';

/** What became of one attempt: `unreachable` is worth another try, the others are final. */
export type LinkReportOutcome = 'recorded' | 'refused' | 'ended' | 'unreachable';

/** The hub's code for a link report on a session it no longer holds (docs/site-api.md). */
const SESSION_ENDED_CODE = 'ERR_SESSION_ENDED';

/** Delays of the background retries after a first attempt that did not reach the hub, before jitter. */
export const LINK_REPORT_RETRY_MS: readonly number[] = [1_000, 5_000, 20_000];

/** Most background retries waiting at once. */
export const LINK_REPORT_MAX_PENDING = 1_000;

/**
 * How long past its expiry the hub takes a handoff token as the proof of a link report (plus its
 * clock tolerance; docs/site-api.md). A kept proof older than that is dropped unreported.
 */
export const LINK_PROOF_GRACE_SECONDS = 300;

export interface LinkReporterOptions {
  /** Timeout of an attempt made while a request waits for it (`linkReportTimeoutMs`). */
  requestTimeoutMs: number;
  /** Most background retries waiting at once. Default {@link LINK_REPORT_MAX_PENDING}. */
  maxPending?: number;
  /**
   * Called when a background retry settled a report (recorded, refused, or the session ended).
   */
  onSettled?: (sid: string, outcome: Exclude<LinkReportOutcome, 'unreachable'>) => void;
}

interface PendingRetry {
  /** The newest proof for the sid. */
  proof: string;
  /** Index into LINK_REPORT_RETRY_MS of the retry waiting. */
  retry: number;
  timer: NodeJS.Timeout;
}

/**
 * Reports site links, with retries.
 *
 * @example
 * const links = new LinkReporter(hub, logger, { requestTimeoutMs: 500 });
 * if ((await links.report(claims.sid, token)) === 'unreachable') keepLinkProof(ctx, token, claims.exp);
 */
export class LinkReporter {
  /** sid → its waiting retry. This reporter is one site's, so the sid alone names the link. */
  private readonly pending = new Map<string, PendingRetry>();
  private readonly maxPending: number;
  private closed = false;

  constructor(
    private readonly hub: HubClient,
    private readonly logger: DestinationLogger,
    private readonly options: LinkReporterOptions,
  ) {
    this.maxPending = options.maxPending ?? LINK_REPORT_MAX_PENDING;
  }

  /** How many background retries are waiting. */
  get pendingRetries(): number {
    return this.pending.size;
  }

  /**
   * Reports that this site holds `sid`, proven by `proof`, within the request timeout; when the
   * hub cannot be reached (`unreachable`: the proof should be kept for a later report), goes on
   * retrying in the background. `none` when there is no credential to report with.
   */
  async report(sid: string, proof: string): Promise<LinkReportOutcome | 'none'> {
    if (!this.hub.enabled) return 'none';
    const outcome = await this.attempt(sid, proof);
    if (outcome === 'unreachable') this.retryLater(sid, proof);
    return outcome;
  }

  /**
   * One report, logged when it fails, within the request timeout unless told otherwise. A final
   * answer also ends a waiting retry for the sid: the hub now holds the link, or never will.
   */
  async attempt(sid: string, proof: string, timeoutMs: number = this.options.requestTimeoutMs): Promise<LinkReportOutcome> {
    const outcome = await this.ask(sid, proof, timeoutMs);
    if (outcome !== 'unreachable') this.cancel(sid);
    return outcome;
  }

  /** Stops the waiting retries (on `close()`). */
  close(): void {
    this.closed = true;
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private async ask(sid: string, proof: string, timeoutMs: number | undefined): Promise<LinkReportOutcome> {
    try {
      const answer = await this.hub.link(sid, proof, timeoutMs);
      if (answer.recorded) return 'recorded';
      if (answer.code === SESSION_ENDED_CODE) {
        this.logger.warn({ code: answer.code, sid }, 'the hub answered the site link report: the session has ended, so it ends here too');
        return 'ended';
      }
      this.logger.warn({ code: answer.code, sid }, 'the hub refused the site link report');
      return 'refused';
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ERR_HUB_UNAVAILABLE') {
        this.logger.warn({ code, sid, err: (err as Error).message }, 'the site link report did not reach the hub');
        return 'unreachable';
      }
      this.logger.warn({ code, sid }, 'the hub refused the site link report');
      return 'refused';
    }
  }

  /** Schedules the first retry for `sid`, or gives a waiting one the newer proof. */
  private retryLater(sid: string, proof: string): void {
    if (this.closed) return;
    const waiting = this.pending.get(sid);
    if (waiting !== undefined) {
      waiting.proof = proof;
      return;
    }
    if (this.pending.size >= this.maxPending) {
      this.logger.warn({ code: 'ERR_HUB_UNAVAILABLE', sid }, 'too many link reports waiting for a retry: this one is not retried in the background (the site session keeps its proof)');
      return;
    }
    this.schedule(sid, proof, 0);
  }

  private schedule(sid: string, proof: string, retry: number): void {
    const delay = LINK_REPORT_RETRY_MS[retry];
    if (delay === undefined) {
      this.pending.delete(sid);
      this.logger.warn({ code: 'ERR_HUB_UNAVAILABLE', sid }, 'gave up retrying the site link report (the site session keeps its proof)');
      return;
    }
    // ±25 %: the retries of many visitors do not reach a recovering hub at the same moment.
    const timer = setTimeout(() => void this.retry(sid), (delay * (750 + randomInt(501))) / 1000);
    // A waiting retry never keeps the process alive.
    timer.unref();
    this.pending.set(sid, { proof, retry, timer });
  }

  private async retry(sid: string): Promise<void> {
    const waiting = this.pending.get(sid);
    if (waiting === undefined) return;
    const { proof } = waiting;
    // The background has time: the full hub timeout.
    const outcome = await this.ask(sid, proof, undefined);
    // Closed, or settled by a request meanwhile: nothing more to do here.
    if (this.pending.get(sid) !== waiting) return;
    if (outcome === 'unreachable') {
      this.schedule(sid, waiting.proof, waiting.retry + 1);
      return;
    }
    this.pending.delete(sid);
    this.options.onSettled?.(sid, outcome);
  }

  private cancel(sid: string): void {
    const waiting = this.pending.get(sid);
    if (waiting === undefined) return;
    clearTimeout(waiting.timer);
    this.pending.delete(sid);
  }
}
