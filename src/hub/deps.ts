/**
 * Everything the hub needs, handed in by the composition root (src/main.ts) or by a test.
 * The hub never opens a store, reads a file or listens on a port itself.
 */
import type { Config } from '../config/schema';
import type { Clock } from '../core/clock';
import type { Keyring } from '../core/keys/keyring';
import type { Logger } from '../log/logger';
import type { HealthCheck, MagicLinkStore, Mailer, RateLimiter, ReplayStore, SessionStore, UserStore } from '../ports';

export interface LoginLimits {
  /** Every login attempt (password or e-mail link request) from one client address. */
  perAddress: RateLimiter;
  /** Failed password attempts against one e-mail address, whoever makes them. */
  perAccount: RateLimiter;
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
  /** Every backing store `/readyz` must reach. */
  readiness: HealthCheck[];
}
