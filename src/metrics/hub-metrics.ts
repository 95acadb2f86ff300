/**
 * The hub's Prometheus metrics (prom-client), exposed at `/metrics`. One {@link Registry} per hub,
 * never prom-client's global one: two hubs in one process (the demo, a test suite) must not add
 * up each other's counters or collide on registration.
 *
 * Three kinds of figures, chosen so that nothing here slows a request down:
 * - counters bumped where the event happens (handoffs, logins, revocations, back-channel
 *   deliveries): one map lookup and an addition each;
 * - gauges read from their source only when Prometheus scrapes (outbox depth from
 *   `Outbox.stats()`, key ages from the keyring), so the request paths never pay for them;
 * - store latency, observed by the timing wrappers the composition root puts around the store
 *   ports (src/metrics/store-timing.ts).
 *
 * Label values are bounded by construction: `site` is a configured origin, `reason` a stable
 * error code (anything else is counted as `ERR_INTERNAL`), `store` / `operation` a port and
 * one of its methods, `kid` one of the few keys under `keys/`. Nothing a client sends becomes a
 * label value, so no request can grow the number of series.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock } from '../core/clock';
import type { KeyInfo } from '../core/keys/keyring';
import type { Logger } from '../log/logger';
import type { OutboxStats } from '../ports';
import { StoreLatencyHistogram } from './store-latency';

export type HandoffResult = 'accepted' | 'rejected';
export type LoginResult = 'success' | 'failure';
/** `retry`: the attempt failed and is scheduled again; `failed`: the worker gave up. */
export type DeliveryResult = 'delivered' | 'retry' | 'failed' | 'dropped';

/** Where the scrape-time gauges read from. */
export interface MetricsSources {
  /** Pending and failed back-channel deliveries. */
  outbox: { stats(): Promise<OutboxStats> };
  /** Every signing key with its state and creation time. */
  keyring: { list(): KeyInfo[] };
  clock: Clock;
  logger: Logger;
  /**
   * Also collect prom-client's process metrics (CPU, RSS, heap, event loop lag, GC) on this
   * registry. Default true; tests that start many hubs in one process turn it off.
   */
  processMetrics?: boolean;
}

/** The reason label of a handoff counted without an error. */
const noReason = 'none';
/** What a rejection's reason label may look like: one of the codes of src/core/errors.ts. */
const errorCodePattern = /^ERR_[A-Z0-9_]{1,60}$/;
/**
 * Store operations take tens of microseconds (SQLite, memory) to a few milliseconds (Redis,
 * PostgreSQL over a network); the top buckets catch a store that is about to time out.
 */
const storeBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface HandoffCount {
  labels: { site: string; result: HandoffResult; reason: string };
  value: number;
}

/** Records one store call's duration, in seconds. */
export type StoreObserver = (seconds: number) => void;

/**
 * The counters, gauges and histograms of one hub, on their own registry.
 *
 * @example
 * const metrics = createHubMetrics({ outbox, keyring, clock, logger });
 * metrics.countHandoff('https://www.example.org', 'rejected', 'ERR_HANDOFF_REPLAYED');
 * const text = await metrics.registry.metrics();
 */
export class HubMetrics {
  /** Everything below, plus the process metrics; what `/metrics` serves. */
  readonly registry = new Registry();
  /**
   * Handoff counts by site, then by reason label, published to the counter at scrape time: the
   * accept path pays two Map lookups on strings from the configuration (their hashes cached),
   * not prom-client's label validation and hashing.
   */
  private readonly handoffCounts = new Map<string, Map<string, HandoffCount>>();
  private readonly logins: Counter<'method' | 'result'>;
  private readonly revocations: Counter<'reason'>;
  private readonly deliveries: Counter<'result'>;
  private readonly storeSeconds: StoreLatencyHistogram;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    const handoffCounts = this.handoffCounts;
    new Counter({
      name: 'tessera_handoffs_total',
      help: 'Handoff tokens the hub received as a site\'s receiver, by site, result (accepted or rejected) and reason (the rejection code; "none" when accepted).',
      labelNames: ['site', 'result', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const bySite of handoffCounts.values()) for (const { labels, value } of bySite.values()) this.inc(labels, value);
      },
    });
    this.logins = new Counter({
      name: 'tessera_logins_total',
      help: 'Sign-in attempts at the hub, by method (password or magic-link) and result (success or failure).',
      labelNames: ['method', 'result'],
      registers,
    });
    this.revocations = new Counter({
      name: 'tessera_revocations_total',
      help: 'Sessions ended by this hub, by reason (user-logout, admin, user-disabled, ...).',
      labelNames: ['reason'],
      registers,
    });
    this.deliveries = new Counter({
      name: 'tessera_outbox_deliveries_total',
      help: 'Back-channel logout attempts by this hub\'s worker, by result: delivered, retry (failed, scheduled again), failed (given up) or dropped (its site no longer configured, or without a back-channel URI).',
      labelNames: ['result'],
      registers,
    });
    this.storeSeconds = new StoreLatencyHistogram({
      help: 'Duration of store calls, by store (sessions, replay, users, outbox, audit, admin_tokens, projections) and operation (the port method).',
      buckets: storeBuckets,
      registry: this.registry,
    });
    for (const method of ['password', 'magic-link']) for (const result of ['success', 'failure']) this.logins.inc({ method, result }, 0);
    for (const result of ['delivered', 'retry', 'failed', 'dropped']) this.deliveries.inc({ result }, 0);

    registerOutboxGauges(registers, sources);
    registerKeyAgeGauge(registers, sources);
    if (sources.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * One handoff token the hub's receiver took (`accepted`) or refused (`rejected`, with the
   * error code as `reason`). `site` must be a configured site's origin.
   */
  countHandoff(site: string, result: HandoffResult, reason: string = noReason): void {
    // `none` is no error code, so accepted and rejected counts never share a key.
    const label = result === 'accepted' ? noReason : boundedCode(reason);
    let bySite = this.handoffCounts.get(site);
    if (bySite === undefined) {
      bySite = new Map();
      this.handoffCounts.set(site, bySite);
    }
    const entry = bySite.get(label);
    if (entry === undefined) bySite.set(label, { labels: { site, result, reason: label }, value: 1 });
    else entry.value += 1;
  }

  countLogin(method: 'password' | 'magic-link', result: LoginResult): void {
    this.logins.inc({ method, result });
  }

  /** One session ended, for one of the fixed revocation reasons. */
  countRevocation(reason: string): void {
    this.revocations.inc({ reason });
  }

  countDelivery(result: DeliveryResult): void {
    this.deliveries.inc({ result });
  }

  /**
   * The observer for one store operation, bound once at wiring time so each call only adds a
   * sample (no label lookup by name on the request path).
   */
  storeObserver(store: string, operation: string): StoreObserver {
    return this.storeSeconds.observer(store, operation);
  }
}

/** Creates the metrics of one hub on a fresh registry. */
export function createHubMetrics(sources: MetricsSources): HubMetrics {
  return new HubMetrics(sources);
}

function boundedCode(reason: string): string {
  return errorCodePattern.test(reason) ? reason : 'ERR_INTERNAL';
}

/**
 * `tessera_outbox_pending`, `tessera_outbox_failed` and the age of the oldest pending delivery,
 * from one `Outbox.stats()` per scrape: a registry collects all metrics at once, so the three
 * collects share the query in flight. When the outbox cannot answer, they read NaN ("unknown"
 * to Prometheus) rather than a reassuring 0; `/readyz` says which store is down.
 */
function registerOutboxGauges(registers: Registry[], { outbox, clock, logger }: MetricsSources): void {
  let inFlight: Promise<OutboxStats | null> | null = null;
  const stats = (): Promise<OutboxStats | null> =>
    (inFlight ??= outbox
      .stats()
      .catch((err: unknown) => {
        logger.warn({ code: (err as { code?: unknown }).code ?? 'ERR_STORE_UNAVAILABLE' }, 'outbox metrics not collected');
        return null;
      })
      .finally(() => {
        inFlight = null;
      }));
  const gauge = (name: string, help: string, read: (s: OutboxStats) => number): void => {
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const found = await stats();
        this.set(found === null ? Number.NaN : read(found));
      },
    });
  };
  gauge('tessera_outbox_pending', 'Back-channel logout deliveries waiting to be delivered (including those in flight).', (s) => s.pending);
  gauge('tessera_outbox_failed', 'Back-channel logout deliveries given up on, waiting for an admin to retry them.', (s) => s.failed);
  gauge('tessera_outbox_oldest_pending_seconds', 'Age of the oldest pending back-channel logout delivery (0 when none is pending).', (s) =>
    s.oldestPendingAt === null ? 0 : Math.max(0, clock.now() / 1000 - s.oldestPendingAt),
  );
}

/** `tessera_key_age_seconds{kid,state}`: rebuilt at each scrape, so a dropped key disappears. */
function registerKeyAgeGauge(registers: Registry[], { keyring, clock }: MetricsSources): void {
  new Gauge({
    name: 'tessera_key_age_seconds',
    help: 'Age of each signing key under keys/, by kid and state (next, active, retired): an old active key means rotation is overdue.',
    labelNames: ['kid', 'state'],
    registers,
    collect() {
      this.reset();
      const now = clock.now() / 1000;
      for (const key of keyring.list()) this.set({ kid: key.kid, state: key.state }, Math.max(0, now - key.createdAt));
    },
  });
}
