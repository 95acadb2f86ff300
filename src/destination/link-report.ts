/**
 * Telling the hub that this site now holds a session (`POST <hub>/api/v1/sites/links`), with the
 * handoff token the site has just accepted as the proof: the hub records no link without one,
 * and answers beacons, status and logout only for sessions this site holds (docs/site-api.md).
 *
 * - The report is made before the request that accepted the token answers, so the next request
 *   (a `requireActiveSession()` status check, `loader.js`) finds the link at the hub.
 * - When the hub cannot be reached, it is retried in the background after 1, 5 and 20 seconds,
 *   and the accepting request keeps the token in the site session (`tessera.linkProof`), where
 *   `loader.js` finds it and reports again (routes/loader.ts); the hub takes a token for this
 *   up to 5 minutes past its expiry, and once only.
 * - A refusal (a 4xx: a bad or already used proof, an ended session, a wrong credential) is
 *   final: logged once with its code, never retried, nothing kept.
 * No log line carries the token.
 */
import type { HubClient } from './hub-client';
import type { DestinationLogger } from './options';

/** What became of one attempt: `unreachable` is worth another try, the others are final. */
export type LinkReportOutcome = 'recorded' | 'refused' | 'unreachable';

/** Delays of the background retries after a first attempt that did not reach the hub. */
export const LINK_REPORT_RETRY_MS: readonly number[] = [1_000, 5_000, 20_000];

/**
 * Reports site links, with retries.
 *
 * @example
 * const links = new LinkReporter(hub, logger);
 * if (!(await links.report(claims.sid, token))) session.tessera.linkProof = token;
 */
export class LinkReporter {
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly hub: HubClient,
    private readonly logger: DestinationLogger,
  ) {}

  /**
   * Reports that this site holds `sid`, proven by `proof`; when the hub cannot be reached, goes
   * on retrying in the background. True when settled (recorded, refused, or no credential to
   * report with); false when the proof should be kept for a later report.
   */
  async report(sid: string, proof: string): Promise<boolean> {
    if (!this.hub.enabled) return true;
    if ((await this.attempt(sid, proof)) !== 'unreachable') return true;
    this.retryLater(sid, proof, 0);
    return false;
  }

  /** One report, logged when it fails. */
  async attempt(sid: string, proof: string): Promise<LinkReportOutcome> {
    try {
      const answer = await this.hub.link(sid, proof);
      if (answer.recorded) return 'recorded';
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

  /** Stops the pending retries (on `close()`). */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private retryLater(sid: string, proof: string, retry: number): void {
    if (this.closed) return;
    const delay = LINK_REPORT_RETRY_MS[retry];
    if (delay === undefined) {
      this.logger.warn({ code: 'ERR_HUB_UNAVAILABLE', sid }, 'gave up retrying the site link report (loader.js reports a kept proof again)');
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(sid, proof).then((outcome) => {
        if (outcome === 'unreachable') this.retryLater(sid, proof, retry + 1);
      });
    }, delay);
    // A pending retry never keeps the process alive.
    timer.unref();
    this.timers.add(timer);
  }
}
