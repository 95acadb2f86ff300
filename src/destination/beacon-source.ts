/**
 * The beacons a page of this site should emit for the visitor's session: what `loader.js`
 * answers and what `beaconTags()` renders. Once every site holds a session the hub has nothing
 * to mint, and that answer is remembered for a minute, so warm pages do not call the hub at all
 * (DESIGN.md "Beacons": warm pages mint nothing). Beacon tokens are single-use, so a non-empty
 * answer is never cached. A failed call counts as "nothing" for the same minute: beacons are an
 * optimisation, and a hub in trouble should not see every page view retry it.
 */
import type { Clock } from '../core/clock';
import type { Beacon } from '../core/receiver/loader';
import type { HubClient } from './hub-client';
import type { DestinationLogger } from './options';

/** How long "no beacons for this sid" is believed. */
export const NO_BEACONS_CACHE_MS = 60_000;
/** Most sids remembered at once; the oldest entry goes first. */
export const NO_BEACONS_CACHE_ENTRIES = 10_000;

/**
 * Beacons for a sid, asking the hub only when the last answer for it was not "nothing".
 *
 * @example
 * const source = new BeaconSource(hub, clock, logger);
 * renderLoaderScript(await source.beaconsFor(sid));
 */
export class BeaconSource {
  /** sid → until when (ms) the hub is believed to have nothing for it. Insertion order is age. */
  private readonly nothingUntil = new Map<string, number>();

  constructor(
    private readonly hub: HubClient,
    private readonly clock: Clock,
    private readonly logger: DestinationLogger,
  ) {}

  /** The beacons to emit; [] when the site has no credential, the hub has none, or it failed. */
  async beaconsFor(sid: string): Promise<Beacon[]> {
    if (!this.hub.enabled) return [];
    const until = this.nothingUntil.get(sid);
    if (until !== undefined) {
      if (until > this.clock.now()) return [];
      this.nothingUntil.delete(sid);
    }
    let beacons: Beacon[];
    try {
      beacons = await this.hub.beacons(sid);
    } catch (err) {
      this.logger.warn({ code: (err as { code?: unknown }).code, err: (err as Error).message }, 'no beacons from the hub');
      beacons = [];
    }
    if (beacons.length === 0) this.rememberNothing(sid);
    return beacons;
  }

  /** Forgets a remembered "nothing" for `sid`: the hub has just learnt this site holds it, and may now mint. */
  forget(sid: string): void {
    this.nothingUntil.delete(sid);
  }

  private rememberNothing(sid: string): void {
    if (this.nothingUntil.size >= NO_BEACONS_CACHE_ENTRIES) {
      const oldest = this.nothingUntil.keys().next().value;
      if (oldest !== undefined) this.nothingUntil.delete(oldest);
    }
    this.nothingUntil.set(sid, this.clock.now() + NO_BEACONS_CACHE_MS);
  }
}
