/**
 * Delivers back-channel logouts from the outbox (OpenID Connect Back-Channel Logout 1.0 §2.5):
 * each due delivery is POSTed to the site's `backchannelLogoutUri` as a form with one field,
 * `logout_token`, minted at that moment (never stored). 200 or 204 means delivered; anything
 * else is retried on the schedule of src/core/outbox/backoff.ts, and given up — recorded as
 * `failed` for admins, logged, and announced to `onGiveUp` — when the schedule says so.
 *
 * Where a delivery goes is decided when it is sent, from the site as this worker's hub is
 * configured then (`configuredSite`), not from the URI it was queued with: a site whose
 * back-channel URI changed gets the logout at its new URI (recorded on the delivery), and a
 * site removed from the configuration, or left without a back-channel URI, gets nothing — the
 * delivery is `dropped` at once, without minting a token or retrying, logged, and announced to
 * `onDrop`. A removed
 * site's domain may since belong to someone else; it must not keep receiving the `sid` and
 * `sub` of sessions. With several hub instances whose configurations differ for a while (a
 * rolling change), the instance that claims a delivery decides it with its own.
 *
 * Redirects are not followed: the URI is configuration, and a redirect would let whoever runs
 * the site send the hub's POST elsewhere. Several hub instances may run a worker on one outbox:
 * `Outbox.claim` leases each delivery to one worker at a time. Delivery is at least once; a
 * delivery whose worker dies mid-way is taken up by any worker once the lease ends.
 */
import { nowSeconds, type Clock } from '../core/clock';
import { TesseraError } from '../core/errors';
import { createBackoff, type BackoffOptions, type FailureKind } from '../core/outbox/backoff';
import type { Logger } from '../log/logger';
import type { Delivery, Outbox } from '../ports';

/**
 * What the worker needs to know of a configured site: where its back-channel logouts go now
 * (null: it takes none).
 */
export interface BackchannelSite {
  backchannelLogoutUri: string | null;
}

/** Why a delivery was dropped, as stored in its `lastError` and logged. */
const dropReasons = { notConfigured: 'site not configured', noUri: 'site has no backchannelLogoutUri' } as const;

export interface OutboxWorkerOptions {
  outbox: Outbox;
  clock: Clock;
  /**
   * The site with this origin as the hub is configured now, or null when it is not configured;
   * asked for each delivery when it is sent.
   */
  configuredSite: (origin: string) => BackchannelSite | null;
  /** Mints the logout token for a delivery (`typ: logout+jwt`, `aud` = its site, its `sid`, `sub`). */
  mint: (delivery: Delivery) => string | Promise<string>;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  logger: Logger;
  /** Names this worker's leases; unique per hub instance (e.g. host name and process id). */
  workerId: string;
  /** How often to look for due deliveries when not kicked. Default 500. */
  pollIntervalMs?: number;
  /** Deliveries claimed and sent in parallel per run. Default 20, at most 500. */
  batch?: number;
  /** How long a claimed delivery stays with this worker. Default 30; more than the timeout. */
  leaseSeconds?: number;
  /** How long one POST may take. Default 5000. */
  timeoutMs?: number;
  /** The retry schedule (defaults in src/core/outbox/backoff.ts). */
  backoff?: BackoffOptions;
  /** Jitter source for the schedule, uniform in [0, 1); tests fix it. Default: the CSPRNG. */
  random?: () => number;
  /** Told about every delivery the worker gave up on, after it was recorded as failed. */
  onGiveUp?: (delivery: Delivery) => void;
  /**
   * Told about every delivery the worker dropped (its site no longer takes it), after it was
   * recorded as dropped, with the why in `lastError`. Errors it throws are logged.
   */
  onDrop?: (delivery: Delivery) => void;
  /**
   * Told the outcome of every attempt once the outbox recorded it: `delivered`, `retry` (failed,
   * due again later), `failed` (given up) or `dropped` (its site no longer takes it). For
   * metrics; must not throw.
   */
  onOutcome?: (result: 'delivered' | 'retry' | 'failed' | 'dropped') => void;
}

export interface OutboxWorker {
  /** Starts delivering: at once (what was pending before a restart), then every poll interval. */
  start(): void;
  /** Stops polling and resolves once the run in flight, if any, has recorded its outcomes. */
  stop(): Promise<void>;
  /**
   * Claims one batch of due deliveries and delivers them; resolves to how many it claimed.
   * Rejects (after every delivery of the batch has finished) when the outbox failed.
   */
  runOnce(): Promise<number>;
  /**
   * Runs now instead of at the next poll, e.g. right after `enqueue`, so a revocation reaches
   * sites in milliseconds; runs again right after the current run when one is in flight.
   * Does nothing unless started.
   */
  kick(): void;
}

/** Outcome of one POST. */
type AttemptResult = { delivered: true } | { delivered: false; failure: FailureKind; error: string };

/** Defaults of {@link OutboxWorkerOptions}. */
const defaults = { pollIntervalMs: 500, batch: 20, leaseSeconds: 30, timeoutMs: 5000 } as const;

function positiveInteger(name: keyof typeof defaults, value: number | undefined, max = Number.MAX_SAFE_INTEGER): number {
  const chosen = value ?? defaults[name];
  if (!Number.isSafeInteger(chosen) || chosen < 1 || chosen > max) {
    throw new TesseraError('ERR_CONFIG_INVALID', `"${name}" must be an integer from 1 to ${max}, got ${String(chosen)}`);
  }
  return chosen;
}

/**
 * 408 and 429 say "not now", like a 5xx. Other 3xx and 4xx answers say the site will not take
 * this token (OpenID Connect Back-Channel Logout 1.0 §2.8: 400 when logout failed), which
 * retrying rarely changes.
 */
function failureOf(status: number): FailureKind {
  return status >= 300 && status < 500 && status !== 408 && status !== 429 ? 'refused' : 'unreachable';
}

/** A short description of a failed fetch for `lastError`: an error code, never a URL or token. */
function describeFetchError(err: unknown, timeoutMs: number): string {
  // By name, not instanceof: AbortSignal.timeout's DOMException is no `Error` in every realm.
  const { name, cause } = err as { name?: unknown; cause?: { code?: unknown } };
  if (name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
  const code = cause?.code;
  return `network error: ${typeof code === 'string' ? code : typeof name === 'string' ? name : 'unknown'}`;
}

/**
 * Validates the options (`ERR_CONFIG_INVALID`) and builds a stopped worker.
 *
 * @example
 * const worker = createOutboxWorker({ outbox, clock, logger, workerId: `${os.hostname()}:${process.pid}`,
 *   mint: (d) => mintLogoutToken(signer, { aud: d.site, sid: d.sid, sub: d.sub }),
 *   configuredSite: (origin) => config.sites.find((site) => site.origin === origin) ?? null });
 * worker.start();
 * await outbox.enqueue(deliveries);
 * worker.kick();
 */
export function createOutboxWorker(options: OutboxWorkerOptions): OutboxWorker {
  const { outbox, clock, mint, logger, workerId, configuredSite, onGiveUp, onDrop, onOutcome } = options;
  const fetchImpl = options.fetch ?? fetch;
  const pollIntervalMs = positiveInteger('pollIntervalMs', options.pollIntervalMs);
  const batch = positiveInteger('batch', options.batch, 500);
  const leaseSeconds = positiveInteger('leaseSeconds', options.leaseSeconds);
  const timeoutMs = positiveInteger('timeoutMs', options.timeoutMs);
  if (workerId.length === 0) throw new TesseraError('ERR_CONFIG_INVALID', '"workerId" must not be empty');
  // A POST that outlived its lease could be sent again by another worker meanwhile.
  if (timeoutMs >= leaseSeconds * 1000) throw new TesseraError('ERR_CONFIG_INVALID', '"timeoutMs" must be shorter than "leaseSeconds"');
  const backoff = createBackoff(options.backoff, options.random);

  async function post(delivery: Delivery): Promise<AttemptResult> {
    let token: string;
    try {
      token = await mint(delivery);
    } catch (err) {
      // No signing key, most likely: the hub's problem, so retried on the full schedule.
      logger.error({ err, delivery: delivery.id, site: delivery.site }, 'cannot mint a logout token');
      return { delivered: false, failure: 'unreachable', error: 'cannot mint a logout token' };
    }
    try {
      const response = await fetchImpl(delivery.uri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body?.cancel();
      if (response.status === 200 || response.status === 204) return { delivered: true };
      return { delivered: false, failure: failureOf(response.status), error: `HTTP ${response.status}` };
    } catch (err) {
      return { delivered: false, failure: 'unreachable', error: describeFetchError(err, timeoutMs) };
    }
  }

  function giveUp(delivery: Delivery, now: number, error: string): void {
    logger.warn(
      { delivery: delivery.id, site: delivery.site, sid: delivery.sid, reason: delivery.reason, attempts: delivery.attempts, error },
      'back-channel logout given up',
    );
    try {
      onGiveUp?.({ ...delivery, status: 'failed', failedAt: now, lastError: error });
    } catch (err) {
      logger.error({ err, delivery: delivery.id }, 'onGiveUp listener failed');
    }
  }

  /**
   * The delivery as it is to be sent now: at its site's current back-channel URI (recorded when
   * it changed since the delivery was queued), or null when it was dropped or is no longer this
   * worker's.
   */
  async function target(delivery: Delivery): Promise<Delivery | null> {
    const site = configuredSite(delivery.site);
    const uri = site?.backchannelLogoutUri ?? null;
    if (uri === null) {
      const why = site === null ? dropReasons.notConfigured : dropReasons.noUri;
      const now = nowSeconds(clock);
      if (!(await outbox.drop(delivery.id, workerId, now, why))) {
        logger.warn({ delivery: delivery.id, site: delivery.site }, 'drop not recorded: the lease ended');
        return null;
      }
      onOutcome?.('dropped');
      logger.warn({ delivery: delivery.id, site: delivery.site, sid: delivery.sid, reason: delivery.reason, why }, 'back-channel logout dropped');
      try {
        onDrop?.({ ...delivery, status: 'dropped', droppedAt: now, lastError: why });
      } catch (err) {
        logger.error({ err, delivery: delivery.id }, 'onDrop listener failed');
      }
      return null;
    }
    if (uri === delivery.uri) return delivery;
    if (!(await outbox.retarget(delivery.id, workerId, uri))) {
      logger.warn({ delivery: delivery.id, site: delivery.site }, 'lease ended before sending');
      return null;
    }
    // The URIs stay out of the log, as out of `lastError`: the delivery row shows the new one.
    logger.info({ delivery: delivery.id, site: delivery.site }, 'back-channel logout URI changed since it was queued');
    return { ...delivery, uri };
  }

  async function deliver(claimed: Delivery): Promise<void> {
    const delivery = await target(claimed);
    if (delivery === null) return;
    const result = await post(delivery);
    const now = nowSeconds(clock);
    if (result.delivered) {
      if (!(await outbox.complete(delivery.id, workerId, now))) logger.warn({ delivery: delivery.id, site: delivery.site }, 'delivered after the lease ended');
      onOutcome?.('delivered');
      return;
    }
    const next = backoff.nextAttemptAt(delivery, now, result.failure);
    if (!(await outbox.fail(delivery.id, workerId, now, result.error, next))) {
      logger.warn({ delivery: delivery.id, site: delivery.site }, 'attempt failed after the lease ended');
    } else if (next === null) {
      onOutcome?.('failed');
      giveUp(delivery, now, result.error);
    } else {
      onOutcome?.('retry');
      logger.info({ delivery: delivery.id, site: delivery.site, attempts: delivery.attempts, error: result.error, nextAttemptAt: next }, 'back-channel logout will be retried');
    }
  }

  async function runOnce(): Promise<number> {
    const claimed = await outbox.claim(nowSeconds(clock), batch, workerId, leaseSeconds);
    const outcomes = await Promise.allSettled(claimed.map(deliver));
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return claimed.length;
  }

  let started = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let kicked = false;

  function schedule(delayMs: number): void {
    timer = setTimeout(cycle, delayMs);
    // The worker alone must not keep a process (the CLI, a test) alive.
    timer.unref();
  }

  function cycle(): void {
    timer = null;
    running = (async () => {
      let claimed = 0;
      try {
        claimed = await runOnce();
      } catch (err) {
        logger.error({ err }, 'outbox run failed; trying again at the next poll');
      }
      running = null;
      if (!started) return;
      // A full batch suggests more is due; a kick during the run may have enqueued more.
      const more = kicked || claimed === batch;
      kicked = false;
      schedule(more ? 0 : pollIntervalMs);
    })();
  }

  return {
    runOnce,
    start() {
      if (started) return;
      started = true;
      if (running === null) cycle();
    },
    async stop() {
      started = false;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await running;
    },
    kick() {
      if (!started) return;
      if (running !== null) {
        kicked = true;
        return;
      }
      if (timer !== null) clearTimeout(timer);
      cycle();
    },
  };
}
