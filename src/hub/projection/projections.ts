/**
 * The hub's side of session projections (DESIGN.md "hub as receiver"): for a site configured
 * with `projection`, the site cookie value is also the site application's session id, and the
 * hub keeps `projection.keyPrefix + cookie value` filled with the session's variables
 * (src/core/projection/fields.ts) for as long as the session lives:
 * - written when a handoff sets the site cookie (src/hub/receiver/accept-token.ts), before the
 *   cookie, so no cookie ever names a session id with nothing behind it;
 * - refreshed (our variables merged again, expiry moved) whenever the session's idle expiry
 *   slides: the hub's own throttled touch, and a live site cookie seen by that site's receiver;
 * - deleted when the session ends (src/hub/revocation/revoke.ts, login replacing an anonymous
 *   session), when a later handoff of the session replaces the site link that named it (the
 *   browser lost that cookie), and, for sessions that simply expire, by the periodic purge of
 *   the store's index.
 *
 * A projection key holds the site cookie value, a credential: it is never logged.
 */
import type { Site } from '../../config/schema';
import { TesseraError } from '../../core/errors';
import { nowSeconds } from '../../core/clock';
import { projectedFields, projectionExpiresAt } from '../../core/projection/fields';
import type { ProjectionOutcome, ProjectionStore, ProjectionWrite, SessionRecord, SiteLink, UserRecord } from '../../ports';
import type { HubDeps } from '../deps';
import { identityClaims } from '../handoff/mint';
import { siteRegistry } from '../handoff/sites';

/** What projections need from the hub's dependencies (the CLI's revocation has the same). */
export type ProjectionDeps = Pick<HubDeps, 'config' | 'clock' | 'logger' | 'projections'>;

/** A site whose receiver writes a projection. */
export type ProjectedSite = Site & { projection: NonNullable<Site['projection']> };

/** The session facts a projection is made of. */
export type ProjectedSession = Pick<SessionRecord, 'sid' | 'userId' | 'createdAt' | 'idleExpiresAt' | 'absoluteExpiresAt'>;

export function isProjected(site: Site): site is ProjectedSite {
  return site.projection !== null;
}

/** The projection store; a site with a projection on a hub wired without one is a wiring mistake. */
export function projectionStore(deps: Pick<HubDeps, 'projections'>): ProjectionStore {
  if (deps.projections === undefined) throw new TesseraError('ERR_CONFIG_INVALID', 'a site has a projection but the hub has no projection store (projections need Redis)');
  return deps.projections;
}

/**
 * The write that makes `key` hold `session` for `site`, with the identity claims allowed for the
 * site (`identity`: from the handoff token, or `identityClaims` of the user).
 */
export function projectionWrite(deps: Pick<HubDeps, 'clock'>, site: ProjectedSite, key: string, session: ProjectedSession, identity: Readonly<Record<string, unknown>>): ProjectionWrite {
  const { projection } = site;
  const { fields, unset } = projectedFields(projection.fields, { sid: session.sid, userId: session.userId, createdAt: session.createdAt, absoluteExpiresAt: session.absoluteExpiresAt, identity });
  return { key, format: projection.format, fields, unset, expiresAt: projectionExpiresAt(projection.ttlSeconds, session, nowSeconds(deps.clock)) };
}

/** Logs what a write found when it is worth an operator's attention (never the key). */
export function noteOutcome(deps: Pick<HubDeps, 'logger'>, site: Site, sid: string, outcome: ProjectionOutcome): void {
  if (outcome === 'unreadable') {
    deps.logger.warn({ event: 'projection', result: 'unreadable', site: site.origin, sid }, "the application's session holds data the projection format cannot read: its expiry moved, our variables were not merged");
  }
}

/**
 * After the session's idle expiry moved (`record` as it is now): merge our variables into every
 * projection of the session again and move their expiry. Best effort: a failure is logged and
 * the next touch tries again; the projection still expires on its own.
 */
export async function refreshProjections(deps: ProjectionDeps, record: SessionRecord, user: UserRecord | null): Promise<void> {
  const links = record.sites.filter((link) => link.projectionKey !== null);
  if (links.length === 0) return;
  const registry = siteRegistry(deps.config);
  await Promise.all(
    links.map(async (link) => {
      const site = registry.resolve(link.site);
      // A site whose projection was configured away keeps its key until its expiry or the purge.
      if (site === null || !isProjected(site)) return;
      try {
        const outcome = await projectionStore(deps).refresh(projectionWrite(deps, site, link.projectionKey!, record, identityClaims(site, user)));
        noteOutcome(deps, site, record.sid, outcome);
      } catch (err) {
        deps.logger.warn({ err, event: 'projection', result: 'refresh_failed', site: site.origin, sid: record.sid }, 'refreshing a projection failed');
      }
    }),
  );
}

/** Every projection key of these sessions' site links. */
export function projectionKeys(records: readonly Pick<SessionRecord, 'sites'>[]): string[] {
  return records.flatMap((record) => record.sites.map((link: SiteLink) => link.projectionKey).filter((key): key is string => key !== null));
}

/**
 * Deletes projections by key. Rejects when the store fails, so that revocation can stop before
 * the session is gone and be retried.
 */
export async function deleteProjections(deps: ProjectionDeps, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  if (deps.projections === undefined) {
    deps.logger.error({ event: 'projection', result: 'no_store', keys: keys.length }, 'sessions with projections ended but no projection store is wired: their projections stay until they expire');
    return;
  }
  await deps.projections.delete(keys);
}

/** {@link deleteProjections}, logging a failure instead of throwing (when there is nothing left to stop). */
export async function deleteProjectionsBestEffort(deps: ProjectionDeps, keys: readonly string[]): Promise<void> {
  try {
    await deleteProjections(deps, keys);
  } catch (err) {
    deps.logger.warn({ err, event: 'projection', result: 'delete_failed', keys: keys.length }, 'deleting projections failed: they end at their expiry or at the next purge');
  }
}
