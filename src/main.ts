/**
 * Composition root: config → stores → keyring → hub → listen. The only place (with the CLI)
 * that chooses adapters; everything else receives its dependencies.
 */
import http from 'node:http';
import { hostname } from 'node:os';
import { loadConfig } from './config/load';
import type { Config } from './config/schema';
import { systemClock, type Clock } from './core/clock';
import { Keyring } from './core/keys/keyring';
import { mintLogout } from './core/tokens/logout';
import { createHub } from './hub/app';
import { createHubEvents } from './hub/events';
import { createLogger, type Logger } from './log/logger';
import { DirectoryKeyStore } from './stores/keys-dir/key-store';
import { createMailer } from './mail/mailer';
import type { HubDeps } from './hub/deps';
import { createRateLimiter } from './stores/rate-limit/limiters';
import { openStores, type OpenedStores } from './stores/open';
import { createOutboxWorker, type OutboxWorker } from './outbox/worker';

/** Node's default header limit is 16 KiB; requests beyond it get 431 before reaching Koa. */
const maxHeaderBytes = 16 * 1024;
/** How often expired rows are purged from SQL stores (Redis expires keys by itself). */
const purgeIntervalMs = 10 * 60 * 1000;
/** How long in-flight requests may take to finish after SIGTERM. */
const shutdownGraceMs = 10_000;

export interface RunningHub {
  server: http.Server;
  url: string;
  stop(): Promise<void>;
}

/** Opens the keyring over `keys.dir`, generating the first key when there is none. */
export function openKeyring(config: Config, clock: Clock, logger: Logger): Promise<Keyring> {
  return Keyring.open(new DirectoryKeyStore(config.keys.dir), {
    algorithm: config.tokens.algorithm,
    clock,
    maxTokenTtlSeconds: config.tokens.ttlSeconds + config.tokens.clockToleranceSeconds,
    jwksMaxAgeSeconds: config.keys.jwksMaxAgeSeconds,
    // Another instance sees a rotation only after its next reload: a new key must not sign
    // before every instance and every JWKS cache can know it.
    reloadIntervalSeconds: config.keys.reloadIntervalSeconds,
    onGenerated: (kid) => logger.warn({ kid, dir: config.keys.dir }, 'no signing key found: generated a new one'),
  });
}

/**
 * The back-channel logout worker of this process (started by {@link startMaintenance}): mints
 * each delivery's logout token when it is sent, and records every give-up in the audit log.
 * `options.fetch` replaces the global fetch (the demo's, trusting its development CA).
 */
export function createDeliveryWorker(
  config: Config,
  clock: Clock,
  logger: Logger,
  stores: Pick<OpenedStores, 'outbox' | 'audit'>,
  keyring: Keyring,
  options: { fetch?: typeof fetch } = {},
): OutboxWorker {
  return createOutboxWorker({
    ...options,
    outbox: stores.outbox,
    clock,
    logger,
    workerId: `${hostname()}:${process.pid}`,
    mint: (d) => mintLogout(keyring, { audience: d.site, sid: d.sid, sub: d.sub }, { clock, issuer: config.publicUrl }),
    onGiveUp: (d) => {
      stores.audit
        .append({ type: 'outbox.gave_up', actor: 'system', userId: d.sub, sid: d.sid, site: d.site, reason: d.reason, details: { delivery: d.id, attempts: d.attempts, error: d.lastError } })
        .catch((err: unknown) => logger.error({ err, delivery: d.id }, 'recording a give-up in the audit log failed'));
    },
  });
}

/**
 * The hub's dependencies from opened stores: mailer and login rate limits included.
 * `deliveries` is this process's outbox worker; without one (a process that only serves
 * requests) revocations wait for the next poll of a worker sharing the outbox.
 */
export function hubDeps(config: Config, clock: Clock, logger: Logger, stores: OpenedStores, keyring: Keyring, deliveries: { kick(): void } = { kick: () => undefined }): HubDeps {
  const { mail, login } = config;
  const mailer = createMailer(
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
  return {
    config,
    clock,
    logger,
    keyring,
    sessions: stores.sessions,
    replay: stores.replay,
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
  const stores = await openStores(config, clock, logger);
  const keyring = await openKeyring(config, clock, logger);
  const worker = createDeliveryWorker(config, clock, logger, stores, keyring);
  const app = createHub(hubDeps(config, clock, logger, stores, keyring, worker));

  const server = http.createServer({ maxHeaderSize: maxHeaderBytes }, app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.listen.port;
  const url = `http://${config.listen.host}:${port}`;
  logger.info({ url, publicUrl: config.publicUrl, store: stores.kind }, 'hub listening');

  const maintenance = startMaintenance(config, clock, logger, stores, keyring, worker);

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const maintenanceStopped = maintenance.stop();
      const force = setTimeout(() => server.closeAllConnections(), shutdownGraceMs);
      force.unref();
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      clearTimeout(force);
      await maintenanceStopped;
      await stores.close();
      logger.info('hub stopped');
    })();
    return stopping;
  };
  return { server, url, stop };
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
 * itself), expired sign-in links, and audit events past `admin.auditRetentionDays`. Failures
 * are logged; the next pass tries again.
 */
export async function purgeExpired(config: Config, clock: Clock, logger: Logger, stores: OpenedStores): Promise<void> {
  const now = Math.floor(clock.now() / 1000);
  await Promise.all([
    stores.sessions.purgeExpired().catch((err: unknown) => logger.warn({ err }, 'purging expired sessions failed')),
    stores.users.purgeExpired(now).catch((err: unknown) => logger.warn({ err }, 'purging expired sign-in links failed')),
    stores.audit.purgeOlderThan(now - config.admin.auditRetentionDays * 86400).catch((err: unknown) => logger.warn({ err }, 'purging old audit events failed')),
  ]);
}

/** `tessera serve`: load the configuration, start, and stop gracefully on SIGTERM / SIGINT. */
export async function serve(configFile?: string): Promise<void> {
  const { config, warnings } = loadConfig(configFile === undefined ? {} : { file: configFile });
  const logger = createLogger({ level: config.log.level });
  for (const warning of warnings) logger.warn({ code: 'CONFIG_WARNING' }, warning);
  const hub = await startHub(config, { logger });
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    hub.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
