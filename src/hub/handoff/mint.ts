/**
 * Handoff tokens the hub mints for sites: in the fan-out page after a login, for a bounce, for
 * `loader.js` on a site whose receiver is the hub, and for SDK sites through the site API. All of
 * them carry the same claims (DESIGN.md "The handoff token"); only `src` differs, naming the host
 * whose page will embed the beacon, so the receiver can match it against Referer / Origin.
 */
import type { Site } from '../../config/schema';
import { beaconUrl, type Beacon } from '../../core/receiver/loader';
import { mintHandoff, mintHandoffAsync, type HandoffInput, type HandoffMintOptions } from '../../core/tokens/handoff';
import { usableCores } from '../../cpu-cores';
import type { SessionRecord, UserRecord } from '../../ports';
import type { HubDeps } from '../deps';
import { siteRegistry } from './sites';

/** A live session and its signed-in user (null for an anonymous session that holds data). */
export interface SessionHolder {
  record: SessionRecord;
  user: UserRecord | null;
}

/**
 * The live session `record` with its user, or null when its user is disabled or deleted (such a
 * session must not travel any further; the hub ends it on the next visit).
 */
export async function holderOf(deps: HubDeps, record: SessionRecord): Promise<SessionHolder | null> {
  if (record.userId === null) return { record, user: null };
  const user = await deps.users.findById(record.userId);
  return user === null || user.disabled ? null : { record, user };
}

/** Only the identity claims the operator allows for `site` (config `sites[].claims`). */
export function identityClaims(site: Site, user: UserRecord | null): Record<string, unknown> {
  const identity: Record<string, unknown> = {};
  if (user === null) return identity;
  for (const claim of site.claims) {
    if (claim === 'email') identity.email = user.email;
    else if (claim === 'name' && user.name !== null) identity.name = user.name;
    else if (claim === 'roles') identity.roles = user.roles;
  }
  return identity;
}

/** A handoff token carrying `holder`'s session to `site`, embedded by a page on `src`. */
export function mintForSite(deps: HubDeps, site: Site, holder: SessionHolder, src: string): string {
  return mintHandoff(deps.keyring, handoffInput(site, holder, src), mintOptions(deps));
}

function handoffInput(site: Site, holder: SessionHolder, src: string): HandoffInput {
  return { audience: site.origin, sid: holder.record.sid, sub: holder.user?.id ?? null, src, identity: identityClaims(site, holder.user) };
}

function mintOptions(deps: HubDeps): HandoffMintOptions {
  return { clock: deps.clock, issuer: deps.config.publicUrl, ttlSeconds: deps.config.tokens.ttlSeconds };
}

/**
 * The configured sites that do not hold the session yet, except `except` (the site whose page
 * asks). Sites already linked are left out, so warm pages mint nothing (and look up nobody).
 */
export function sitesLacking(deps: HubDeps, record: SessionRecord, except: Site | null = null): Site[] {
  return siteRegistry(deps.config)
    .all()
    .filter((site) => site.origin !== except?.origin && !record.sites.some((link) => link.site === site.origin));
}

/**
 * Whether several tokens minted at once are signed on libuv's thread pool, in parallel. Only
 * when this process can use more than one core (`usableCores`, src/cpu-cores.ts: its CPU
 * affinity capped by its cgroup CPU quota, so `docker run --cpus=1` counts as one): on a single
 * core the pool's threads merely take turns with the event loop, and a cold `loader.js` cost
 * about 10 % more CPU than with its five signatures made inline, while on two cores it served
 * 1.7 times as many (bench/README.md, http-receiver).
 */
const signInParallel = usableCores().cores > 1;

/**
 * One beacon per site, each with a token for `holder`'s session embedded by a page on `src`.
 * With five sites lacking the session, the signatures are most of the request's time; they are
 * made in parallel when there are cores for it (see `signInParallel`).
 */
export async function mintBeacons(deps: HubDeps, sites: readonly Site[], holder: SessionHolder, src: string): Promise<Beacon[]> {
  const options = mintOptions(deps);
  const tokens =
    signInParallel && sites.length > 1
      ? await Promise.all(sites.map((site) => mintHandoffAsync(deps.keyring, handoffInput(site, holder, src), options)))
      : sites.map((site) => mintHandoff(deps.keyring, handoffInput(site, holder, src), options));
  return sites.map((site, i) => ({ url: beaconUrl(site.origin, site.receiverPath, tokens[i]!, site.beacon), kind: site.beacon }));
}
