/**
 * Composition root: config → stores → keyring → hub → listen. The only place (with the CLI)
 * that chooses adapters; everything else receives its dependencies.
 */
import http from 'node:http';
import { hostname } from 'node:os';
import path from 'node:path';
import { loadConfig } from './config/load';
import type { Config } from './config/schema';
import { systemClock, type Clock } from './core/clock';
import { Keyring } from './core/keys/keyring';
import { mintLogout } from './core/tokens/logout';
import { createHub } from './hub/app';
import { createHubEvents } from './hub/events';
import { usableCores } from './cpu-cores';
import { tuneGarbageCollector } from './gc-tuning';
import { lingerOnUnreadBodies } from './hub/unread-bodies';
import { createLogger, type Logger } from './log/logger';
import { DirectoryKeyStore } from './stores/keys-dir/key-store';
import { createMailer, type MailLogger } from './mail/mailer';
import type { KeyStore, Mailer } from './ports';
import type { HubDeps } from './hub/deps';
import { createRateLimiter } from './stores/rate-limit/limiters';
import { openStores, type OpenedStores } from './stores/open';
import { createOutboxWorker, type OutboxWorker } from './outbox/worker';
import { createHubMetrics, type HubMetrics } from './metrics/hub-metrics';
import { startMetricsListener, type MetricsListener } from './metrics/listener';
import { timeStore } from './metrics/store-timing';

/** Node's default header limit is 16 KiB; requests beyond it get 431 before reaching Koa. */
const maxHeaderBytes = 16 * 1024;
/** How often expired rows are purged from SQL stores (Redis expires keys by itself). */
const purgeIntervalMs = 10 * 60 * 1000;
/** How long in-flight requests may take to finish after SIGTERM. */
const shutdownGraceMs = 10_000;
/** While draining, how often connections that turned idle are closed. */
const shutdownSweepMs = 50;
export { heapGrowingPercent } from './gc-tuning';
export { tuneGarbageCollector };

export interface RunningHub {
  server: http.Server;
  url: string;
  /** Where `GET /metrics` is served without authentication, when `metrics.listen` is set. */
  metricsUrl: string | null;
  stop(): Promise<void>;
}

/**
 * Opens the keyring over `keys.dir` (or `store`, the CLI's check of that directory), generating
 * the first key when there is none.
 */
export function openKeyring(config: Config, clock: Clock, logger: Logger, store: KeyStore = new DirectoryKeyStore(config.keys.dir)): Promise<Keyring> {
  return Keyring.open(store, {
    algorithm: config.tokens.algorithm,
    clock,
    maxTokenTtlSeconds: config.tokens.ttlSeconds + config.tokens.clockToleranceSeconds,
    jwksMaxAgeSeconds: config.keys.jwksMaxAgeSeconds,
    // Another instance sees a rotation only after its next reload: a new key must not sign
    // before every instance and every JWKS cache can know it.
    reloadIntervalSeconds: config.keys.reloadIntervalSeconds,
    // Absolute: a relative keys.dir is taken from the working directory, which the log does not show.
    onGenerated: (kid) => logger.warn({ kid, dir: path.resolve(config.keys.dir) }, 'no signing key found: generated a new one'),
  });
}

/**
 * The back-channel logout worker of this process (started by {@link startMaintenance}): mints
 * each delivery's logout token when it is sent, sends it where `config.sites` says the site's
 * back-channel URI is then (a site no longer configured, or without one, has its deliveries
 * dropped), and records every give-up and every drop in the audit log.
 * `options.fetch` replaces the global fetch (the demo's, trusting its development CA);
 * `options.metrics` counts every attempt's outcome.
 */
export function createDeliveryWorker(
  config: Config,
  clock: Clock,
  logger: Logger,
  stores: Pick<OpenedStores, 'outbox' | 'audit'>,
  keyring: Keyring,
  options: { fetch?: typeof fetch; metrics?: HubMetrics } = {},
): OutboxWorker {
  const { metrics, ...workerOptions } = options;
  return createOutboxWorker({
    ...workerOptions,
    ...(metrics === undefined ? {} : { onOutcome: (result) => metrics.countDelivery(result) }),
    outbox: stores.outbox,
    pollIntervalMs: config.outbox.pollIntervalMs,
    clock,
    logger,
    workerId: `${hostname()}:${process.pid}`,
    mint: (d) => mintLogout(keyring, { audience: d.site, sid: d.sid, sub: d.sub }, { clock, issuer: config.publicUrl }),
    // Deliveries carry an origin the config wrote when they were queued: an exact match, no parsing.
    configuredSite: (origin) => config.sites.find((site) => site.origin === origin) ?? null,
    onGiveUp: (d) => {
      stores.audit
        .append({ type: 'outbox.gave_up', actor: 'system', userId: d.sub, sid: d.sid, site: d.site, reason: d.reason, details: { delivery: d.id, attempts: d.attempts, error: d.lastError } })
        .catch((err: unknown) => logger.error({ err, delivery: d.id }, 'recording a give-up in the audit log failed'));
    },
    onDrop: (d) => {
      stores.audit
        .append({ type: 'outbox.dropped', actor: 'system', userId: d.sub, sid: d.sid, site: d.site, reason: d.reason, details: { delivery: d.id, why: d.lastError } })
        .catch((err: unknown) => logger.error({ err, delivery: d.id }, 'recording a drop in the audit log failed'));
    },
  });
}

/**
 * The mailer `mail.*` configures: the hub's, and the CLI's for the notices its commands send
 * (src/cli/context.ts), so both reach a person the same way.
 *
 * @throws TesseraError `ERR_CONFIG_INVALID` for settings the mailer refuses.
 */
export function configuredMailer(config: Config, clock: Clock, logger: MailLogger): Mailer {
  const { mail } = config;
  return createMailer(
    {
      transport: mail.transport,
      from: mail.from,
      dir: mail.dir,
      clock,
      ...(mail.smtp.host === null
        ? {}
        : {
            smtp: {
              host: mail.smtp.host,
              port: mail.smtp.port,
              secure: mail.smtp.secure,
              requireTls: mail.smtp.requireTls,
              ...(mail.smtp.user === null ? {} : { user: mail.smtp.user }),
              ...(mail.smtp.password === null ? {} : { password: mail.smtp.password }),
            },
          }),
    },
    logger,
  );
}

/**
 * The hub's dependencies from opened stores: mailer and login rate limits included.
 * `deliveries` is this process's outbox worker; without one (a process that only serves
 * requests) revocations wait for the next poll of a worker sharing the outbox. `metrics` is the
 * registry `/metrics` serves; by default a fresh one over these stores and keys.
 */
export function hubDeps(
  config: Config,
  clock: Clock,
  logger: Logger,
  stores: OpenedStores,
  keyring: Keyring,
  deliveries: { kick(): void } = { kick: () => undefined },
  metrics: HubMetrics = createHubMetrics({ outbox: stores.outbox, keyring, clock, logger }),
): HubDeps {
  const { login } = config;
  const mailer = configuredMailer(config, clock, logger);
  return {
    config,
    clock,
    logger,
    keyring,
    sessions: stores.sessions,
    replay: stores.replay,
    projections: stores.projections ?? undefined,
    users: stores.users,
    mailer,
    limits: {
      perAddress: createRateLimiter(stores.rateLimits, { name: 'login-address', points: login.addressLimit, durationSeconds: login.addressWindowSeconds }),
      perAccount: createRateLimiter(stores.rateLimits, { name: 'login-account', points: login.accountLimit, durationSeconds: login.accountWindowSeconds }),
      perRecipient: createRateLimiter(stores.rateLimits, { name: 'login-link', points: login.linkLimit, durationSeconds: login.linkWindowSeconds }),
    },
    events: createHubEvents({ webhookUrl: config.handoff.webhookUrl, logger }),
    outbox: stores.outbox,
    audit: stores.audit,
    adminTokens: stores.adminTokens,
    deliveries,
    readiness: stores.readiness,
    metrics,
  };
}

/**
 * `stores` with every port timed into `tessera_store_operation_seconds` (src/metrics/store-timing.ts).
 * The readiness pings and `close` keep the adapters' own: a ping is not traffic.
 */
export function timedStores(stores: OpenedStores, metrics: HubMetrics): OpenedStores {
  const observerFor = (store: string, operation: string) => metrics.storeObserver(store, operation);
  return {
    ...stores,
    sessions: timeStore(stores.sessions, 'sessions', observerFor),
    replay: timeStore(stores.replay, 'replay', observerFor),
    users: timeStore(stores.users, 'users', observerFor),
    outbox: timeStore(stores.outbox, 'outbox', observerFor),
    audit: timeStore(stores.audit, 'audit', observerFor),
    adminTokens: timeStore(stores.adminTokens, 'admin_tokens', observerFor),
    projections: stores.projections === null ? null : timeStore(stores.projections, 'projections', observerFor),
  };
}

/**
 * Starts the hub and listens. Resolves once the port is bound.
 *
 * @example
 * const hub = await startHub(loadConfig().config);
 * await hub.stop();
 */
export async function startHub(config: Config, options: { clock?: Clock; logger?: Logger } = {}): Promise<RunningHub> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const opened = await openStores(config, clock, logger);
  // A start that fails from here on closes the stores again: an open Redis client alone would
  // keep `tessera serve` alive after it printed its error, and nothing would restart it.
  const keyring = await openKeyring(config, clock, logger).catch(async (err: unknown) => {
    await opened.close();
    throw err;
  });
  const metrics = createHubMetrics({ outbox: opened.outbox, keyring, clock, logger });
  const stores = timedStores(opened, metrics);
  const worker = createDeliveryWorker(config, clock, logger, stores, keyring, { metrics });
  const app = createHub(hubDeps(config, clock, logger, stores, keyring, worker, metrics));

  const server = http.createServer({ maxHeaderSize: maxHeaderBytes }, app.callback());
  lingerOnUnreadBodies(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  }).catch(async (err: unknown) => {
    await stores.close();
    throw err;
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.listen.port;
  const url = `http://${config.listen.host}:${port}`;
  logger.info({ url, publicUrl: config.publicUrl, store: stores.kind }, 'hub listening');

  let metricsListener: MetricsListener | null = null;
  if (config.metrics.listen !== null) {
    try {
      metricsListener = await startMetricsListener(metrics, config.metrics.listen, logger);
    } catch (err) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await stores.close();
      throw err;
    }
  }

  const maintenance = startMaintenance(config, clock, logger, stores, keyring, worker);

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const maintenanceStopped = maintenance.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A keep-alive connection whose request was in flight turns idle once answered; Node would
      // keep it open for its keep-alive timeout (5 s). Sweeping closes it as soon as it is idle.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), shutdownSweepMs);
      const force = setTimeout(() => server.closeAllConnections(), shutdownGraceMs);
      sweep.unref();
      force.unref();
      await closed;
      clearInterval(sweep);
      clearTimeout(force);
      await metricsListener?.close();
      await maintenanceStopped;
      await stores.close();
      logger.info('hub stopped');
    })();
    return stopping;
  };
  return { server, url, metricsUrl: metricsListener?.url ?? null, stop };
}

/**
 * The hub's background work: re-reading `keys/` (a rotation done by `tessera keys rotate` in
 * another process, or on another instance, is picked up without a restart), purging expired
 * rows, and delivering back-channel logouts from the outbox (`worker`, the one whose `kick` the
 * hub's deps hold). Every process that serves the hub runs it (`startHub`, the demo). `stop()`
 * resolves once the delivery run in flight has recorded its outcomes.
 */
export function startMaintenance(
  config: Config,
  clock: Clock,
  logger: Logger,
  stores: OpenedStores,
  keyring: Keyring,
  worker: OutboxWorker = createDeliveryWorker(config, clock, logger, stores, keyring),
): { stop(): Promise<void> } {
  worker.start();
  const reload = setInterval(() => {
    keyring.reload().catch((err: unknown) => logger.error({ err }, 'reloading keys failed'));
  }, config.keys.reloadIntervalSeconds * 1000);
  const purge = setInterval(() => void purgeExpired(config, clock, logger, stores), purgeIntervalMs);
  reload.unref();
  purge.unref();
  return {
    stop: () => {
      clearInterval(reload);
      clearInterval(purge);
      return worker.stop();
    },
  };
}

/**
 * One pass of the periodic purge: expired sessions and jtis (SQL stores; Redis expires keys by
 * itself), projections that outlived their session (the application may have extended their
 * TTL), expired sign-in links, and audit events and delivered or dropped back-channel logouts past
 * `admin.auditRetentionDays` (the outbox would otherwise grow with every revocation, and its
 * gauges count it at every scrape). Failures are logged; the next pass tries again.
 */
export async function purgeExpired(config: Config, clock: Clock, logger: Logger, stores: OpenedStores): Promise<void> {
  const now = Math.floor(clock.now() / 1000);
  await Promise.all([
    stores.sessions.purgeExpired().catch((err: unknown) => logger.warn({ err }, 'purging expired sessions failed')),
    stores.projections?.purgeExpired().catch((err: unknown) => logger.warn({ err }, 'purging projections of ended sessions failed')),
    stores.users.purgeExpired(now).catch((err: unknown) => logger.warn({ err }, 'purging expired sign-in links failed')),
    stores.audit.purgeOlderThan(now - config.admin.auditRetentionDays * 86400).catch((err: unknown) => logger.warn({ err }, 'purging old audit events failed')),
    stores.outbox.purgeDelivered(now - config.admin.auditRetentionDays * 86400).catch((err: unknown) => logger.warn({ err }, 'purging delivered back-channel logouts failed')),
  ]);
}

/**
 * `tessera serve`: load the configuration, start, and stop gracefully on SIGTERM / SIGINT, with
 * the garbage collector set for serving (`tuneGarbageCollector`, src/gc-tuning.ts).
 */
export async function serve(configFile?: string): Promise<void> {
  const gcFlags = tuneGarbageCollector();
  const { config, warnings } = loadConfig(configFile === undefined ? {} : { file: configFile });
  const logger = createLogger({ level: config.log.level });
  for (const warning of warnings) logger.warn({ code: 'CONFIG_WARNING' }, warning);
  // `cores` decides the collector and parallel signing; `affinity` and `cpuQuota` say why.
  logger.info({ gcFlags, ...usableCores() }, 'garbage collector set for serving');
  const hub = await startHub(config, { logger });
  const shutdown = stopOnSignal(hub.stop, logger, (code) => process.exit(code));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** How long a shutdown may take in all before the process exits regardless (requests get {@link shutdownGraceMs} of it). */
export const shutdownDeadlineMs = 20_000;

/**
 * What a stop signal does: stop gracefully and exit 0 (1 when stopping failed). A store that
 * stops answering mid-shutdown (a frozen database host keeps its sockets open) cannot hold the
 * process past `deadlineMs`: it exits 1 then, logging why. A second signal exits 1 at once
 * (an operator pressing Ctrl-C twice).
 */
export function stopOnSignal(stop: () => Promise<void>, logger: Logger, exit: (code: number) => void, deadlineMs = shutdownDeadlineMs): (signal: string) => void {
  let stopping = false;
  return (signal) => {
    if (stopping) {
      logger.warn({ signal }, 'second stop signal: exiting now');
      exit(1);
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown did not finish in time: exiting');
      exit(1);
    }, deadlineMs);
    stop().then(
      () => {
        clearTimeout(deadline);
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(deadline);
        logger.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
}
