/**
 * What the receiver routes, `requireSession()` and the node handler share: built once by
 * `createDestination`, passed to each of them.
 */
import type { SessionReplacedEvent } from '../core/receiver/receiver';
import type { HandoffVerifyOptions } from '../core/tokens/handoff';
import type { ReplayStore } from '../ports';
import type { BeaconSource } from './beacon-source';
import type { HubClient } from './hub-client';
import type { EndedSessions } from './ended-sessions';
import type { LinkReporter } from './link-report';
import type { DestinationLogger, ResolvedOptions } from './options';
import type { SiteSessionStore } from './session-store';

export interface DestinationDeps {
  options: ResolvedOptions;
  logger: DestinationLogger;
  /** The core verifier's options for this site, built once (JWKS key lookup included, no rememberJti). */
  verification: HandoffVerifyOptions;
  /** The jti replay cache: every token is single-use. */
  replay: Pick<ReplayStore, 'rememberOnce'>;
  sessions: SiteSessionStore;
  /** Hub sessions this site was told have ended: their remaining handoff tokens are refused. */
  ended: EndedSessions;
  hub: HubClient;
  /** Site link reports to the hub, with their proof and retries. */
  links: LinkReporter;
  beacons: BeaconSource;
  emit: (event: SessionReplacedEvent) => void;
}
