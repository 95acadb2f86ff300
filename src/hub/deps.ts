/**
 * Everything the hub needs, handed in by the composition root (src/main.ts) or by a test.
 * The hub never opens a store, reads a file or listens on a port itself.
 */
import type { Config } from '../config/schema';
import type { Clock } from '../core/clock';
import type { Keyring } from '../core/keys/keyring';
import type { Logger } from '../log/logger';
import type { HubEvents } from './events';
import type { HubMetrics } from '../metrics/hub-metrics';
import type { AdminTokenStore, AuditLog, MagicLinkStore, Mailer, Outbox, ProjectionStore, RateLimiter, ReadinessCheck, ReplayStore, SessionStore, UserStore } from '../ports';

export interface LoginLimits {
  /** Every login attempt (password or e-mail link request) from one client address. */
  perAddress: RateLimiter;
  /** Password attempts against one e-mail address, whoever makes them (reset by a success). */
  perAccount: RateLimiter;
  /** Sign-in links mailed to one address, whoever asks for them. */
  perRecipient: RateLimiter;
}

export interface HubDeps {
  config: Config;
  clock: Clock;
  logger: Logger;
  keyring: Keyring;
  sessions: SessionStore;
  replay: ReplayStore;
  users: UserStore & MagicLinkStore;
  mailer: Mailer;
  limits: LoginLimits;
  /** `session_replaced` and future hub events: in-process listeners and the optional webhook. */
  events: HubEvents;
  /**
   * Session projections for sites with `projection` (Redis; src/hub/projection/projections.ts).
   * Absent when no site needs one: the hub refuses to start with a projected site and none.
   */
  projections?: ProjectionStore;
  /** Back-channel logout deliveries, written by revocation and drained by the outbox worker. */
  outbox: Outbox;
  audit: AuditLog;
  adminTokens: AdminTokenStore;
  /**
   * The outbox worker of this process: `kick()` right after an enqueue makes a revocation reach
   * sites in milliseconds instead of at the next poll.
   */
  deliveries: { kick(): void };
  /** Every backing store `/readyz` must reach, by name. */
  readiness: ReadinessCheck[];
  /** This hub's Prometheus registry and counters (`/metrics`). */
  metrics: HubMetrics;
}
