/**
 * Starts the real hub app on a real HTTP server on loopback, with memory session stores, an
 * in-memory SQLite user database, memory rate limits, a file mailer in a temp dir and a frozen
 * clock — unless the test passes its own. Tests talk to it with fetch or CookieClient.
 */
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { FrozenClock } from '../../src/core/clock';
import { Keyring } from '../../src/core/keys/keyring';
import { createHub } from '../../src/hub/app';
import { createHubEvents } from '../../src/hub/events';
import type { HubDeps } from '../../src/hub/deps';
import { silentLogger } from '../../src/log/logger';
import { createMailer } from '../../src/mail/mailer';
import { createHubMetrics } from '../../src/metrics/hub-metrics';
import { MemoryKeyStore } from '../../src/stores/memory/key-store';
import { MemoryReplayStore } from '../../src/stores/memory/replay-store';
import { MemorySessionStore } from '../../src/stores/memory/session-store';
import { createRateLimiter } from '../../src/stores/rate-limit/limiters';
import { openDatabase } from '../../src/stores/sqlite/database';
import { SqliteAdminTokenStore } from '../../src/stores/sqlite/admin-token-store';
import { SqliteAuditLog } from '../../src/stores/sqlite/audit-log';
import { SqliteOutbox } from '../../src/stores/sqlite/outbox';
import { SqliteUserStore } from '../../src/stores/sqlite/user-store';

export interface TestHub {
  url: string;
  deps: HubDeps;
  clock: FrozenClock;
  /** Where the default file mailer writes messages. */
  mailDir: string;
  close(): Promise<void>;
}

/** A configuration from TESSERA_* variables, with test defaults (memory store, fixed URL). */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ env: { TESSERA_STORE: 'memory:', TESSERA_PUBLIC_URL: 'https://hub.example.com', TESSERA_LOG_LEVEL: 'silent', ...env } }).config;
}

export async function startTestHub(overrides: Partial<HubDeps> & { clock?: FrozenClock } = {}): Promise<TestHub> {
  const clock = overrides.clock ?? new FrozenClock(Date.UTC(2026, 10, 22, 12, 0, 0));
  const config = overrides.config ?? testConfig();
  const logger = silentLogger();
  const replay = new MemoryReplayStore({ clock });
  const sessions = overrides.sessions ?? new MemorySessionStore({ clock, replay });
  const keyring =
    overrides.keyring ??
    (await Keyring.open(new MemoryKeyStore(), {
      algorithm: config.tokens.algorithm,
      clock,
      maxTokenTtlSeconds: config.tokens.ttlSeconds + config.tokens.clockToleranceSeconds,
      jwksMaxAgeSeconds: config.keys.jwksMaxAgeSeconds,
    }));
  const db = openDatabase(':memory:');
  const mailDir = mkdtempSync(join(tmpdir(), 'tessera-mail-'));
  const outbox = overrides.outbox ?? new SqliteOutbox(db, { clock });
  const deps: HubDeps = {
    config,
    clock,
    logger,
    keyring,
    sessions,
    replay,
    users: new SqliteUserStore(db, { clock }),
    mailer: createMailer({ transport: 'file', from: 'login@hub.example.com', dir: mailDir, clock }, logger),
    limits: {
      perAddress: createRateLimiter({ kind: 'memory' }, { name: 'login-address', points: config.login.addressLimit, durationSeconds: config.login.addressWindowSeconds }),
      perAccount: createRateLimiter({ kind: 'memory' }, { name: 'login-account', points: config.login.accountLimit, durationSeconds: config.login.accountWindowSeconds }),
      perRecipient: createRateLimiter({ kind: 'memory' }, { name: 'login-link', points: config.login.linkLimit, durationSeconds: config.login.linkWindowSeconds }),
    },
    events: createHubEvents({ webhookUrl: config.handoff.webhookUrl, logger }),
    outbox,
    audit: new SqliteAuditLog(db, { clock }),
    adminTokens: new SqliteAdminTokenStore(db, { clock }),
    // No worker: deliveries stay pending in the outbox, where a test can look at them or run a
    // worker of its own.
    deliveries: { kick: () => undefined },
    readiness: [{ store: 'sessions', ping: () => sessions.ping() }],
    // Without process metrics: suites start many hubs in one process.
    metrics: createHubMetrics({ outbox, keyring, clock, logger, processMetrics: false }),
    ...overrides,
  };
  const server = http.createServer(createHub(deps).callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deps,
    clock,
    mailDir,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      db.close();
    },
  };
}
