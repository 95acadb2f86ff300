/**
 * The interfaces the core needs from the outside world. Adapters under src/stores/ implement
 * them; one contract suite per port (test/contract/) runs against every adapter.
 *
 * Times in every record and argument here are whole Unix seconds. "Live" means: present, not
 * revoked, `idleExpiresAt > now` and `absoluteExpiresAt > now`, where `now` comes from the
 * adapter's injected clock (expiry never depends on a cookie or on the store server's clock
 * alone; adapters with native TTLs set them as well so data also disappears by itself).
 */
import type { PhpValue, ProjectionFormat } from './core/projection/formats';

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
 * One backing store `/readyz` must reach, named by the role it plays for the hub (`sessions`,
 * `replay`, `users`, `outbox`): the name is what `/readyz` reports when it fails, so it is never
 * a URL, a host or anything else that could carry a credential.
 */
export interface ReadinessCheck {
  store: string;
  /** Resolves when the store answers; rejects otherwise. */
  ping(): Promise<void>;
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
  /**
   * Live sessions of one user, newest first. `known` is a record of that user's which the caller
   * read through `get` a moment ago (the session of the request being served): an adapter that
   * would read each listed session again may list that one as given instead, saving a read
   * (the account page, bench/README.md). Adapters that read the whole list at once ignore it.
   */
  listByUser(userId: string, known?: SessionRecord): Promise<SessionRecord[]>;
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
   *
   * `sid` is the session the token is bound to by its signature (its `sid` claim). Pass it
   * whenever the token carries one: the Redis adapter keeps such a jti next to the session (same
   * Cluster slot), where `SessionStore.acceptHandoff` records it, so a jti spent on either path
   * is a replay on the other. Without `sid` the jti lives in a global keyspace of its own.
   */
  rememberOnce(jti: string, expiresAt: number, sid?: string): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// Session projections (issue 6): the hub as receiver writes a site session into the site
// application's own session store. Adapters: Redis (src/stores/redis/projection-store.ts), memory
// (tests). Projections need Redis: the configuration refuses them on any other session store.
// ---------------------------------------------------------------------------------------------

/** One projection as the hub wants it (src/core/projection/fields.ts says what the fields are). */
export interface ProjectionWrite {
  /** The whole key: the site's `keyPrefix` and the site cookie value (the application's session id). */
  key: string;
  format: ProjectionFormat;
  /** The hub's variables: they replace the application's variables of the same name. */
  fields: Record<string, PhpValue>;
  /** Names the hub owns that have no value now: the application's variables of these names are removed. */
  unset: string[];
  /** When the key should disappear, Unix seconds (see `projectionExpiresAt`). */
  expiresAt: number;
}

/**
 * What a write found:
 * - `written`: the key was created, or our fields merged into the application's session;
 * - `current`: it already held our values; only its expiry moved (the application's bytes were
 *   not rewritten);
 * - `unreadable`: it holds something the codec refuses (a PHP object, say); only its expiry
 *   moved, and our fields could not be merged;
 * - `absent`: a refresh found no key, or `expiresAt` was not in the future (the key is then
 *   deleted); nothing was written.
 */
export type ProjectionOutcome = 'written' | 'current' | 'unreadable' | 'absent';

/**
 * Projections of site sessions into the site application's session store, where a PHP (or any)
 * application reads them under its own session id.
 *
 * Merging is a read-modify-write that another writer (PHP saving its session) may race: adapters
 * retry until their write is based on the value they read, so a variable PHP wrote in between
 * is never lost by us. (PHP's own save, based on what it read earlier, may still overwrite our
 * merge; the next refresh writes it again.) Adapters keep an index of every projection's
 * `expiresAt`, because the application extends its key's TTL by itself on every request:
 * `purgeExpired` deletes what outlived its session all the same. Store failures reject with
 * `ERR_STORE_UNAVAILABLE`.
 */
export interface ProjectionStore extends HealthCheck {
  /** Creates the projection, or merges our fields into the session already at `key`; expires at `expiresAt`. */
  write(projection: ProjectionWrite): Promise<ProjectionOutcome>;
  /**
   * {@link write}, but only when `key` exists: a session the application destroyed, or that
   * expired, is never brought back by a refresh (the next handoff writes a new one).
   */
  refresh(projection: ProjectionWrite): Promise<ProjectionOutcome>;
  /**
   * Deletes the keys (missing ones are ignored) and leaves them in the index as due now, so that
   * the next `purgeExpired` deletes them again: the application may write back, after this, a
   * session it read before (PHP saves the whole session when a request ends, without a lock).
   */
  delete(keys: readonly string[]): Promise<void>;
  /** Deletes every projection whose `expiresAt` has passed, whatever TTL the key has now; returns how many. */
  purgeExpired(): Promise<number>;
}

/** Signing algorithms the hub supports. */
export type SigningAlgorithm = 'RS256' | 'ES256';

/**
 * Lifecycle of a signing key (DESIGN.md "Keys and JWKS"), derived from a key's timestamps and
 * the current time (see src/core/keys/keyring.ts): `next` before `activatesAt`, `active` from
 * then until `retiredAt`, `retired` after.
 */
export type KeyState = 'next' | 'active' | 'retired';

/**
 * A signing key as persisted under `keys/`. The state is not stored: every hub instance reading
 * the same keys derives it from these timestamps, so all agree on the signing key at any time.
 */
export interface StoredKey {
  /** RFC 7638 JWK thumbprint (base64url SHA-256) of the public key. */
  kid: string;
  alg: SigningAlgorithm;
  createdAt: number;
  /** When the key starts signing; later than `createdAt` while it is published as `next`. */
  activatesAt: number;
  /** When the key stops signing (may be in the future during a rotation); null while open-ended. */
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

// ---------------------------------------------------------------------------------------------
// Users and magic links (login hub). Adapters: SQLite (embedded default), PostgreSQL
// (distributed). One adapter object implements both ports: they live in the same database.
// ---------------------------------------------------------------------------------------------

/**
 * A person who can sign in at the hub. E-mail addresses are unique case-insensitively and
 * whatever their Unicode form: stores compare `normalizeEmail(email)` (trimmed, NFC, lower
 * case), and keep `email` as entered (trimmed) for display and mail.
 */
export interface UserRecord {
  /** 128-bit random, base64url, unless the creator chose one. The JWT `sub`. */
  id: string;
  /** As entered, trimmed. */
  email: string;
  /** Display name. */
  name: string | null;
  /** argon2id PHC string; null for a magic-link-only user. */
  passwordHash: string | null;
  /** e.g. `['admin']`; in the order they were set, without duplicates. */
  roles: string[];
  /** A disabled user cannot sign in; the hub also ends their sessions. */
  disabled: boolean;
  createdAt: number;
  lastLoginAt: number | null;
  /** Unix seconds when two-step sign-in (TOTP) was turned on; null when it is off. */
  totpEnabledAt: number | null;
  /**
   * How many times the password was set, changed or removed (0 for a new user). Upgrading the
   * hash of the same password to newer parameters (`upgradePasswordHash`) is no change. A
   * password sign-in that sees it move between its check and its new session is refused
   * (src/hub/login/complete-login.ts).
   */
  passwordVersion: number;
}

/** A user's TOTP state (two-step sign-in). Never part of UserRecord: only the login and account routes read it. */
export interface TotpState {
  /** The shared secret, base32 (RFC 4648, no padding), as authenticator apps take it. */
  secret: string;
  /** The last TOTP time step accepted (Unix seconds ÷ 30, floored); null before the first. */
  lastStep: number | null;
  /** SHA-256 (hex) of each recovery code not used yet. */
  recoveryCodeHashes: string[];
}

/** What `UserStore.create` needs; everything but `email` has a default. */
export interface NewUser {
  /** Defaults to 128 random bits, base64url. */
  id?: string;
  email: string;
  name?: string | null;
  passwordHash?: string | null;
  roles?: string[];
  disabled?: boolean;
}

/** Filters for listing users (admin UI / API / CLI). All are optional and combine with AND. */
export interface UserFilter {
  /** Case-insensitive substring of the e-mail address. */
  emailContains?: string;
  /** Users holding this role. */
  role?: string;
  disabled?: boolean;
}

/**
 * The users of the login hub.
 *
 * Mutators return the updated record and fail with `ERR_USER_NOT_FOUND` for an unknown id.
 * Store failures reject with `ERR_STORE_UNAVAILABLE` (with the driver error as `cause`).
 */
export interface UserStore extends HealthCheck {
  /**
   * Stores a new user with `createdAt` from the store's clock. Fails with `ERR_USER_EXISTS` when
   * the e-mail address is taken (case-insensitively), `ERR_STORE_CONFLICT` when a given id is.
   */
  create(user: NewUser): Promise<UserRecord>;
  findById(id: string): Promise<UserRecord | null>;
  /** Case-insensitive, canonically equivalent Unicode forms alike (`normalizeEmail`); surrounding white space is ignored. */
  findByEmail(email: string): Promise<UserRecord | null>;
  /** Users matching the filter, ordered by normalized e-mail address, one page at a time. */
  list(filter: UserFilter, page: PageRequest): Promise<Page<UserRecord>>;
  /**
   * Sets or (null) clears the password: a user without one signs in by magic link only. A change:
   * `passwordVersion` goes up by one in the same statement.
   */
  setPasswordHash(id: string, passwordHash: string | null): Promise<UserRecord>;
  /**
   * Replaces the hash with `upgraded`, a hash of the same password with newer parameters, only
   * while the stored hash is still `current` (one conditional statement, so a change made since
   * `current` was read is never undone); `passwordVersion` stays. True when replaced; false when
   * the hash is another by now, or the user is unknown.
   */
  upgradePasswordHash(id: string, current: string, upgraded: string): Promise<boolean>;
  setDisabled(id: string, disabled: boolean): Promise<UserRecord>;
  /** Replaces the roles (duplicates dropped). */
  setRoles(id: string, roles: string[]): Promise<UserRecord>;
  setName(id: string, name: string | null): Promise<UserRecord>;
  /**
   * Changes the e-mail address (as entered, trimmed), drops the user's pending magic links (they
   * went to the old address) and ends their pending e-mail change, in one transaction. With
   * `pendingChange`, only while that is the user's pending change (`setPendingEmailChange`),
   * atomically: of concurrent calls with one change at most one succeeds; otherwise
   * `ERR_STORE_CONFLICT` and nothing changes. `ERR_USER_EXISTS` when another account has the
   * address (case-insensitively, and canonically equivalent Unicode is one address),
   * `ERR_USER_NOT_FOUND` for an unknown id.
   */
  setEmail(id: string, email: string, pendingChange?: string): Promise<UserRecord>;
  /**
   * Makes `changeId` the user's one pending e-mail change, replacing any earlier one, so only
   * the newest request's confirmation link can make the change (src/hub/login/email-change.ts).
   * `ERR_USER_NOT_FOUND` for an unknown id.
   */
  setPendingEmailChange(id: string, changeId: string): Promise<void>;
  /**
   * The user's pending e-mail change (`setPendingEmailChange`): null when there is none (none
   * was asked for, or the address changed since), or the user is unknown. A read, for the
   * confirmation link's page, which must tell an outdated link without spending anything.
   */
  pendingEmailChangeId(id: string): Promise<string | null>;
  /** Sets `lastLoginAt` (Unix seconds). */
  recordLogin(id: string, at: number): Promise<UserRecord>;
  /**
   * Turns two-step sign-in on with `totp.secret` and the recovery codes' hashes (`totpEnabledAt`
   * from the store's clock, last step cleared), or off with null (secret, codes and last step
   * cleared). Duplicate hashes are kept once. ERR_USER_NOT_FOUND for an unknown id;
   * ERR_BAD_REQUEST for a secret that is not unpadded base32 or a hash that is not a non-empty string.
   */
  setTotp(id: string, totp: { secret: string; recoveryCodeHashes: string[] } | null): Promise<UserRecord>;
  /** The TOTP state; null when two-step sign-in is off or the user is unknown. */
  totpState(id: string): Promise<TotpState | null>;
  /**
   * Records `step` as used if it is later than the last used step, atomically (two concurrent
   * calls with the same step: exactly one true). False when it is not later (a replayed code),
   * when TOTP is off, or the user is unknown. ERR_BAD_REQUEST unless `step` is a non-negative
   * integer.
   */
  useTotpStep(id: string, step: number): Promise<boolean>;
  /** Spends one recovery code, atomically (of concurrent calls with one hash exactly one true); false when not among the remaining ones. */
  useRecoveryCode(id: string, codeHash: string): Promise<boolean>;
  /**
   * Replaces the remaining recovery codes with a new set (duplicates kept once). ERR_USER_NOT_FOUND
   * for an unknown id; ERR_BAD_REQUEST when TOTP is off or a hash is not a non-empty string.
   */
  setRecoveryCodes(id: string, codeHashes: string[]): Promise<void>;
  /**
   * Removes the user and their pending magic links, in one transaction; true when there was such
   * a user. Sessions are not the user store's: end them first (`deleteUser` does both).
   */
  delete(id: string): Promise<boolean>;
}

/** A pending magic link. The token itself is never stored: only its hash. */
export interface NewMagicLink {
  /** SHA-256 (hex) of the ≥ 128-bit token mailed to the user. */
  tokenHash: string;
  userId: string;
  /** The address the link was sent to. */
  email: string;
  /** At most 10 minutes after creation (SECURITY.md "Login and e-mail"); the core decides. */
  expiresAt: number;
  /** Where to send the user after signing in, already checked against the configured sites. */
  returnTo: string | null;
}

/** What a consumed magic link yields. */
export interface MagicLinkGrant {
  userId: string;
  email: string;
  returnTo: string | null;
}

/** Pending magic links: single use, short-lived. */
export interface MagicLinkStore {
  /** Stores a pending link. Fails with `ERR_STORE_CONFLICT` when the token hash exists. */
  createMagicLink(link: NewMagicLink): Promise<void>;
  /**
   * Spends the link: atomic, so of any number of concurrent calls for one token exactly one gets
   * the grant. Null when unknown, already spent or expired (`expiresAt <= now`). The user's other
   * pending links go with it: once the person has signed in, links left in the mailbox only
   * help whoever reads it next.
   */
  consumeMagicLink(tokenHash: string, now: number): Promise<MagicLinkGrant | null>;
  /**
   * The link as it would be granted, without spending it: for the landing page, which must name
   * the account it signs into (a link to someone else's account is a login-CSRF lure) and must
   * not consume anything on a GET. Null when unknown, spent or expired.
   */
  peekMagicLink(tokenHash: string, now: number): Promise<MagicLinkGrant | null>;
  /** Removes links with `expiresAt <= now`. Returns how many. */
  purgeExpired(now: number): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// Mail (magic links, sign-in notices). Adapter: src/mail/mailer.ts (SMTP, or .eml files for
// development).
// ---------------------------------------------------------------------------------------------

/** One e-mail to one recipient, already rendered (src/mail/templates.ts). */
export interface MailMessage {
  /** A bare address (`local@domain`); the mailer validates it before sending. */
  to: string;
  subject: string;
  /** Plain-text part. */
  text: string;
  /** HTML part; every interpolated value already escaped. */
  html: string;
}

/** Sends e-mail. */
export interface Mailer {
  /**
   * Sends one message with an explicit envelope (sender from configuration, `message.to` as the
   * only recipient). Rejects with `ERR_EMAIL_INVALID` before anything is sent when `to` is not a
   * plain valid address, and with `ERR_MAIL_SEND_FAILED` when the transport fails.
   */
  send(message: MailMessage): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Rate limits (SECURITY.md "Login and e-mail": brute-force limits per account and per client
// address). Adapter: src/stores/rate-limit/limiters.ts (memory, SQLite, Redis).
// ---------------------------------------------------------------------------------------------

/** Outcome of counting one event against a budget. */
export interface RateLimitResult {
  allowed: boolean;
  /** Seconds until the budget allows another event (0 when allowed). */
  retryAfterSeconds: number;
  remaining: number;
}

/**
 * A budget of `points` events per `durationSeconds` per key, shared by every hub instance using
 * the same store. Store failures reject with `ERR_STORE_UNAVAILABLE` (fail closed: 503).
 */
export interface RateLimiter {
  /** Counts one event for `key`. */
  consume(key: string): Promise<RateLimitResult>;
  /** Whether `key` is currently blocked, without counting an event. */
  peek(key: string): Promise<RateLimitResult>;
  /** Forgets `key` (e.g. a successful login clears its account's failure count). */
  reset(key: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Back-channel logout outbox (issue 5). Adapters: SQLite (embedded default), PostgreSQL
// (distributed). The worker that delivers is src/outbox/worker.ts.
// ---------------------------------------------------------------------------------------------

/**
 * One back-channel logout to deliver. The logout token is minted by the worker at delivery
 * time, never stored: no signed token sits in the database, and a key rotation in between is
 * harmless.
 */
export interface NewDelivery {
  /** The site's origin, e.g. `https://shop.example.com`. */
  site: string;
  /**
   * The site's `backchannelLogoutUri` when the delivery was queued. The worker POSTs to the
   * site's URI as configured when it sends, and records that one here if it changed.
   */
  uri: string;
  /** The ended session (the token's `sid`). */
  sid: string;
  /** Its user (the token's `sub`), or null for an anonymous session. */
  sub: string | null;
  /** Why the session ended (e.g. `logout`, `admin`), for admins and the log. */
  reason: string;
}

/**
 * `pending` until delivered; `failed` once the worker gave up (an admin may retry it);
 * `dropped` when its site was no longer configured, or had no back-channel URI any more, when
 * the worker came to send it: nobody is owed that logout, so it is neither sent nor retried
 * (an admin may still retry it, e.g. after restoring a site removed by mistake).
 */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'dropped';

/** A delivery as stored. */
export interface Delivery extends NewDelivery {
  /** Assigned by the store; increasing in enqueue order. */
  id: string;
  status: DeliveryStatus;
  /** Attempts started so far: `claim` counts one up. */
  attempts: number;
  createdAt: number;
  /**
   * When the delivery is next due. While a worker holds it, the end of that worker's lease: a
   * delivery whose worker died becomes due again by itself.
   */
  nextAttemptAt: number;
  /** Why the last attempt failed, or why the delivery was dropped (short, no secrets), or null. */
  lastError: string | null;
  deliveredAt: number | null;
  failedAt: number | null;
  droppedAt: number | null;
}

/** Filters for listing deliveries (admin UI / API / CLI); combine with AND. */
export interface DeliveryFilter {
  status?: DeliveryStatus;
  /** Site origin. */
  site?: string;
}

/** What the admin UI and `/readyz`-style monitoring show of the outbox. */
export interface OutboxStats {
  /** Pending deliveries, including those a worker is delivering right now. */
  pending: number;
  failed: number;
  /** `createdAt` of the oldest pending delivery, or null when none is pending. */
  oldestPendingAt: number | null;
}

/**
 * The durable queue of back-channel logout deliveries. Delivery is at least once: several
 * workers (hub instances) may share one outbox, and `claim` leases each delivery to one of them
 * at a time; a worker that outlives its lease may deliver a token twice (each has its own `jti`,
 * and ending a session twice is harmless).
 *
 * Listing order is newest first (`id` descending). Store failures reject with
 * `ERR_STORE_UNAVAILABLE`.
 */
export interface Outbox extends HealthCheck {
  /** Stores the deliveries as pending and due now (the store's clock); all or none. */
  enqueue(items: NewDelivery[]): Promise<void>;
  /**
   * Atomically leases up to `limit` due deliveries (pending, `nextAttemptAt <= now`; the longest
   * due are taken first) to `workerId` until `now + leaseSeconds`, counts an attempt for each,
   * and returns them in `id` order. Concurrent calls, from any number of processes, never return
   * the same delivery while its lease runs.
   */
  claim(now: number, limit: number, workerId: string, leaseSeconds: number): Promise<Delivery[]>;
  /** Marks a delivery `workerId` holds as delivered. False when it no longer holds it. */
  complete(id: string, workerId: string, now: number): Promise<boolean>;
  /**
   * Records a failed attempt of a delivery `workerId` holds: due again at `nextAttemptAt`, or,
   * when null, given up (`failed`, with `failedAt`). False when the worker no longer holds it.
   */
  fail(id: string, workerId: string, now: number, error: string, nextAttemptAt: number | null): Promise<boolean>;
  /**
   * Records that a delivery `workerId` holds will never be sent (`dropped`, with `droppedAt`, and
   * `reason` as `lastError`). False when the worker no longer holds it.
   */
  drop(id: string, workerId: string, now: number, reason: string): Promise<boolean>;
  /**
   * Records that a delivery `workerId` holds is sent to `uri` (its site's back-channel URI
   * changed since it was queued). False when the worker no longer holds it.
   */
  retarget(id: string, workerId: string, uri: string): Promise<boolean>;
  /** Deliveries matching the filter, newest first, one page at a time. */
  list(filter: DeliveryFilter, page: PageRequest): Promise<Page<Delivery>>;
  /**
   * Admin: puts a failed or dropped delivery back to pending, due at `now`, for one more attempt
   * (its attempt count is kept). False when there is no failed or dropped delivery with this id.
   */
  retry(id: string, now: number): Promise<boolean>;
  stats(): Promise<OutboxStats>;
  /**
   * Removes delivered deliveries with `deliveredAt < olderThan`, and dropped ones with
   * `droppedAt < olderThan`; returns how many.
   */
  purgeDelivered(olderThan: number): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// Audit log and admin API tokens (issue 5). Adapters: SQLite (embedded default), PostgreSQL
// (distributed), in the same database as the users.
// ---------------------------------------------------------------------------------------------

/** Every kind of audit event, as a list for validation and for the filters of the UI, API and CLI. */
export const AUDIT_EVENT_TYPES = [
  'login.success',
  'login.failure',
  'logout',
  'handoff.accepted',
  'handoff.rejected',
  'session.revoked',
  'admin.action',
  'key.rotated',
  'key.retired',
  'user.created',
  'user.updated',
  'user.deleted',
  'user.disabled',
  'user.enabled',
  'outbox.gave_up',
  'outbox.dropped',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/**
 * Small, flat facts about an event, e.g. `{ kid: '…', attempts: 8 }`. Stores refuse, with
 * `ERR_BAD_REQUEST`, more than 2 KiB of JSON, nested values, and any key named like a secret
 * (`/token|secret|password|cookie|authorization/i`): the audit log never holds secrets
 * (SECURITY.md), whatever a caller passes by mistake.
 */
export type AuditDetails = Record<string, string | number | boolean | null>;

/** One entry of the append-only audit log. */
export interface AuditEvent {
  /** Assigned by the store, increasing with every append and never reused (not even after a purge). */
  id: number;
  /** When it was appended (the store's clock), Unix seconds. */
  at: number;
  type: AuditEventType;
  /** Who acted: a user id, `cli`, `admin-token:<id>` or `system`; null when unknown (a failed login). */
  actor: string | null;
  /** The user the event is about. */
  userId: string | null;
  sid: string | null;
  /** The site origin involved (handoffs, back-channel logout). */
  site: string | null;
  /** Client address of the request that caused the event. */
  ip: string | null;
  /** A reason code, e.g. `ERR_HANDOFF_REPLAYED` or `user-logout`. */
  reason: string | null;
  details: AuditDetails;
}

/** What `AuditLog.append` needs: the store assigns `id` and `at`; the rest defaults to null, details to `{}`. */
export interface NewAuditEvent {
  type: AuditEventType;
  actor?: string | null;
  userId?: string | null;
  sid?: string | null;
  site?: string | null;
  ip?: string | null;
  reason?: string | null;
  details?: AuditDetails;
}

/** Filters for querying the audit log. All are optional and combine with AND. */
export interface AuditFilter {
  /** One type, or any of a list (an empty list matches nothing). */
  type?: AuditEventType | AuditEventType[];
  userId?: string;
  sid?: string;
  /** Site origin. */
  site?: string;
  actor?: string;
  /** Earliest `at`, inclusive. */
  from?: number;
  /** Latest `at`, inclusive. */
  to?: number;
}

/**
 * The audit log: append-only. There is no way to change an entry, and the only way to remove
 * any is the retention purge. Query order is newest first (`id` descending). Invalid input
 * rejects with `ERR_BAD_REQUEST`; store failures with `ERR_STORE_UNAVAILABLE`.
 */
export interface AuditLog extends HealthCheck {
  /** Stores one event at the store's current time and returns it as stored. */
  append(event: NewAuditEvent): Promise<AuditEvent>;
  /** Events matching the filter, newest first, one page at a time. */
  query(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEvent>>;
  /** Retention: removes the events appended before `at` (Unix seconds); returns how many. */
  purgeOlderThan(at: number): Promise<number>;
}

/** What an admin API token may do, as a list for validation (CLI `--scope`, API). */
export const ADMIN_SCOPES = [
  'sessions:read',
  'sessions:revoke',
  'users:read',
  'users:write',
  'audit:read',
  'keys:read',
  'keys:rotate',
  'outbox:read',
  'outbox:retry',
  'metrics:read',
] as const;

export type AdminScope = (typeof ADMIN_SCOPES)[number];

/** An admin API bearer token as stored and listed: never the token itself, nor its hash. */
export interface AdminTokenRecord {
  /** 128-bit random, base64url; `admin-token:<id>` is the audit actor. */
  id: string;
  /** What the operator called it, e.g. `monitoring`. */
  name: string;
  /** Without duplicates, in the order given. */
  scopes: AdminScope[];
  /** Who created it (`cli`, or a user id). */
  createdBy: string;
  createdAt: number;
  /** Null: does not expire. */
  expiresAt: number | null;
  /** Last successful authentication, to the minute (written at most once a minute). */
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** What `AdminTokenStore.create` needs. */
export interface NewAdminToken {
  name: string;
  /** At least one. */
  scopes: AdminScope[];
  createdBy: string;
  /** Unix seconds, after the creation time; null for a token that does not expire. */
  expiresAt: number | null;
}

/** A freshly created token: `token` is shown once and stored nowhere. */
export interface CreatedAdminToken {
  /** `tsa_` + 256 random bits, base64url (47 characters). */
  token: string;
  record: AdminTokenRecord;
}

/**
 * Bearer tokens for the admin API (`tessera admin-tokens create`). Stores keep only SHA-256(token)
 * (hex). Invalid input rejects with `ERR_BAD_REQUEST`; store failures with `ERR_STORE_UNAVAILABLE`.
 */
export interface AdminTokenStore extends HealthCheck {
  /** Creates a token with `createdAt` from the store's clock. */
  create(token: NewAdminToken): Promise<CreatedAdminToken>;
  /**
   * The token's record when it is known, not revoked and not expired (`expiresAt > now`), else
   * null. A string that cannot be a token (prefix, length, characters) is null without a store
   * query. Sets `lastUsedAt = now` when it is older than a minute.
   */
  authenticate(token: string, now: number): Promise<AdminTokenRecord | null>;
  /** Every token, revoked and expired ones included, newest first. */
  list(): Promise<AdminTokenRecord[]>;
  /** Revokes a token at the store's current time. False when unknown or already revoked. */
  revoke(id: string): Promise<boolean>;
}
