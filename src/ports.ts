/**
 * The interfaces the core needs from the outside world. Adapters under src/stores/ implement
 * them; one contract suite per port (test/contract/) runs against every adapter.
 *
 * Times in every record and argument here are whole Unix seconds. "Live" means: present, not
 * revoked, `idleExpiresAt > now` and `absoluteExpiresAt > now`, where `now` comes from the
 * adapter's injected clock (expiry never depends on a cookie or on the store server's clock
 * alone; adapters with native TTLs set them as well so data also disappears by itself).
 */

/** That site X received session `sid` (DESIGN.md "site link"). */
export interface SiteLink {
  /** The site's origin, e.g. `https://www.example.org`. */
  site: string;
  /** When the site received the session. */
  linkedAt: number;
  /** Host that embedded the beacon or started the bounce (`src` claim). */
  src: string;
  /** SHA-256 (hex) of the per-site cookie secret, when the hub itself set the site's cookie. */
  secretHash: string | null;
  /** Key of the site's projection (e.g. `PHPREDIS_SESSION:<id>`), when one was written. */
  projectionKey: string | null;
}

/** The hub's server-side session record. Only these fields are ever persisted. */
export interface SessionRecord {
  /** Schema version of the stored record. */
  v: 1;
  /** Public handle: 128-bit random, base64url. Never enough to use the session. */
  sid: string;
  /** SHA-256 (hex) of the 256-bit cookie secret; compared in constant time. */
  secretHash: string;
  /** The signed-in user, or null for an anonymous session that holds data. */
  userId: string | null;
  /** Application data carried by the session (e.g. an anonymous basket). */
  data: Record<string, unknown>;
  createdAt: number;
  lastSeenAt: number;
  /** Sliding: moved forward by `touch`, never beyond `absoluteExpiresAt`. */
  idleExpiresAt: number;
  /** Fixed at creation; never extended. */
  absoluteExpiresAt: number;
  /** Client address and user agent at creation (shown to the user and admins). */
  ip: string | null;
  userAgent: string | null;
  /** "Keep me signed in": the cookie gets a Max-Age instead of being a browser-session cookie. */
  persistent: boolean;
  /** Sites that hold this session; filled by the store on read. */
  sites: SiteLink[];
}

/** Filters for listing sessions (admin UI / API / CLI). All are optional and combine with AND. */
export interface SessionFilter {
  userId?: string;
  /** Site origin that holds the session. */
  site?: string;
  ip?: string;
  createdFrom?: number;
  createdTo?: number;
  lastSeenFrom?: number;
  lastSeenTo?: number;
}

export interface PageRequest {
  /** At most this many items (adapters cap it at 500). */
  limit: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string | null;
}

export interface Page<T> {
  items: T[];
  /** Pass back to get the next page; null on the last page. */
  nextCursor: string | null;
}

/** What `acceptHandoff` found. */
export type AcceptOutcome = 'accepted' | 'replayed' | 'unknown-session';

export interface HealthCheck {
  /** Resolves when the backing store answers; rejects otherwise. Used by `/readyz`. */
  ping(): Promise<void>;
  /** Releases connections and file handles. */
  close(): Promise<void>;
}

/**
 * Sessions, their site links and the per-user index.
 *
 * Listing order is newest first (`createdAt` descending, then `sid`). Methods that take a
 * `sid` of a session that is not live behave as if it did not exist.
 */
export interface SessionStore extends HealthCheck {
  /** Stores a new session. Fails with `ERR_STORE_CONFLICT` when the sid already exists. */
  create(record: SessionRecord): Promise<void>;
  /** The live session, with its site links; null when missing, revoked or expired. */
  get(sid: string): Promise<SessionRecord | null>;
  /**
   * Slides the idle expiry: sets `lastSeenAt` and `idleExpiresAt` (the caller caps it at
   * `absoluteExpiresAt` and throttles calls). False when the session is not live.
   */
  touch(sid: string, lastSeenAt: number, idleExpiresAt: number): Promise<boolean>;
  /** Replaces the session's `data`. False when the session is not live. */
  setData(sid: string, data: Record<string, unknown>): Promise<boolean>;
  /**
   * Atomically ends `oldSid` (with its site links) and stores `next` in its place: login and
   * privilege changes get a new sid and secret (no fixation). False, and nothing stored, when
   * `oldSid` is not live.
   */
  rotate(oldSid: string, next: SessionRecord): Promise<boolean>;
  /** Ends one session at once; returns what was removed (with its site links) or null. */
  revoke(sid: string): Promise<SessionRecord | null>;
  /** Ends every live session of a user; returns what was removed. */
  revokeUser(userId: string): Promise<SessionRecord[]>;
  /** Live sessions of one user, newest first. */
  listByUser(userId: string): Promise<SessionRecord[]>;
  /** Live sessions matching the filter, newest first, one page at a time. */
  list(filter: SessionFilter, page: PageRequest): Promise<Page<SessionRecord>>;
  /** Records (or replaces) the link of `link.site`. False when the session is not live. */
  linkSite(sid: string, link: SiteLink): Promise<boolean>;
  /**
   * The receiver's hot path in one store round trip: record `jti` until `jtiExpiresAt` only if
   * it was never seen, and if so and the session is live, write the site link.
   * - `replayed`: the jti was already recorded; nothing changed.
   * - `unknown-session`: the jti is now recorded (the token is spent) but the session is not
   *   live, so no link was written.
   * - `accepted`: jti recorded and link written.
   */
  acceptHandoff(jti: string, jtiExpiresAt: number, sid: string, link: SiteLink): Promise<AcceptOutcome>;
  /** Removes expired rows (SQL stores; Redis expires keys by itself). Returns how many. */
  purgeExpired(): Promise<number>;
}

/** The jti replay cache: makes every token single-use. */
export interface ReplayStore extends HealthCheck {
  /**
   * Records `jti` until `expiresAt`. True only the first time a jti is seen while it is
   * remembered; atomic, so of any number of concurrent calls for one jti exactly one is true.
   */
  rememberOnce(jti: string, expiresAt: number): Promise<boolean>;
}

/** Signing algorithms the hub supports. */
export type SigningAlgorithm = 'RS256' | 'ES256';

/** Lifecycle of a signing key (DESIGN.md "Keys and JWKS"). */
export type KeyState = 'next' | 'active' | 'retired';

/** A signing key as persisted under `keys/`. */
export interface StoredKey {
  /** RFC 7638 JWK thumbprint (base64url SHA-256) of the public key. */
  kid: string;
  alg: SigningAlgorithm;
  state: KeyState;
  createdAt: number;
  activatedAt: number | null;
  retiredAt: number | null;
  /** PKCS#8 PEM. */
  privateKeyPem: string;
}

/** Where signing keys live (the `keys/` directory, mounted from a secret store in production). */
export interface KeyStore {
  /** Every stored key. */
  load(): Promise<StoredKey[]>;
  /** Writes (creates or updates) one key; private material with mode 0600. */
  save(key: StoredKey): Promise<void>;
  /** Deletes one key's files. */
  remove(kid: string): Promise<void>;
}
