/**
 * Every rejection Tessera makes carries a stable `code`. The code appears in the log line, the
 * metrics label and the test assertion; tests assert on `code`, never on `instanceof` (jest's
 * module realms make `instanceof` unreliable across packages).
 */
export type TesseraErrorCode =
  // handoff token verification (DESIGN.md "The handoff token", SECURITY.md "Tokens")
  | 'ERR_HANDOFF_OVERSIZE'
  | 'ERR_HANDOFF_MALFORMED'
  | 'ERR_HANDOFF_DUPLICATE_CLAIM'
  | 'ERR_HANDOFF_ALG'
  | 'ERR_HANDOFF_TYP'
  | 'ERR_HANDOFF_KID_MISSING'
  | 'ERR_HANDOFF_KID_MALFORMED'
  | 'ERR_HANDOFF_KID_UNKNOWN'
  | 'ERR_HANDOFF_HEADER_FORBIDDEN'
  | 'ERR_HANDOFF_SIGNATURE'
  | 'ERR_HANDOFF_ISSUER'
  | 'ERR_HANDOFF_AUDIENCE'
  | 'ERR_HANDOFF_DESTINATION'
  | 'ERR_HANDOFF_SOURCE'
  | 'ERR_HANDOFF_EXPIRED'
  | 'ERR_HANDOFF_IAT_FUTURE'
  | 'ERR_HANDOFF_LIFETIME'
  | 'ERR_HANDOFF_CLAIMS'
  | 'ERR_HANDOFF_JTI_MISSING'
  | 'ERR_HANDOFF_REPLAYED'
  | 'ERR_HANDOFF_REFERER'
  | 'ERR_HANDOFF_STATE'
  | 'ERR_HANDOFF_SESSION_ENDED'
  | 'ERR_HANDOFF_NOT_A_SITE'
  | 'ERR_SITE_CREDENTIAL'
  // site API link reports (docs/site-api.md): the handoff token offered as proof does not show
  // that the calling site received this sid
  | 'ERR_LINK_PROOF'
  // logout token verification (DESIGN.md "The flows" 4, OpenID Connect Back-Channel Logout 1.0)
  | 'ERR_LOGOUT_OVERSIZE'
  | 'ERR_LOGOUT_MALFORMED'
  | 'ERR_LOGOUT_DUPLICATE_CLAIM'
  | 'ERR_LOGOUT_ALG'
  | 'ERR_LOGOUT_TYP'
  | 'ERR_LOGOUT_KID_MISSING'
  | 'ERR_LOGOUT_KID_MALFORMED'
  | 'ERR_LOGOUT_KID_UNKNOWN'
  | 'ERR_LOGOUT_HEADER_FORBIDDEN'
  | 'ERR_LOGOUT_SIGNATURE'
  | 'ERR_LOGOUT_ISSUER'
  | 'ERR_LOGOUT_AUDIENCE'
  | 'ERR_LOGOUT_EXPIRED'
  | 'ERR_LOGOUT_IAT_FUTURE'
  | 'ERR_LOGOUT_LIFETIME'
  | 'ERR_LOGOUT_CLAIMS'
  | 'ERR_LOGOUT_JTI_MISSING'
  | 'ERR_LOGOUT_REPLAYED'
  | 'ERR_LOGOUT_EVENTS'
  | 'ERR_LOGOUT_NONCE'
  // destination SDK: the hub (its JWKS or its site API) did not answer usably
  | 'ERR_HUB_UNAVAILABLE'
  // keys
  | 'ERR_KEY_TOO_WEAK'
  | 'ERR_KEY_DUPLICATE_KID'
  | 'ERR_KEY_UNKNOWN'
  | 'ERR_KEY_STATE'
  | 'ERR_KEY_NO_ACTIVE'
  | 'ERR_KEY_INVALID'
  // a command that changes keys found none where it looked (run elsewhere than the hub?)
  | 'ERR_KEYS_NOT_FOUND'
  // a command found no SQLite database where it looked (run elsewhere than the hub?)
  | 'ERR_DATABASE_NOT_FOUND'
  // configuration
  | 'ERR_CONFIG_INVALID'
  // stores
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_STORE_CONFLICT'
  // e-mail (SECURITY.md "Login and e-mail")
  | 'ERR_EMAIL_INVALID'
  | 'ERR_MAIL_SEND_FAILED'
  // users (login hub)
  | 'ERR_USER_EXISTS'
  | 'ERR_USER_NOT_FOUND'
  | 'ERR_PASSWORD_POLICY'
  // changing or setting one's own password (account page)
  | 'ERR_PASSWORD_INCORRECT'
  | 'ERR_PASSWORD_MISMATCH'
  | 'ERR_REAUTHENTICATION_REQUIRED'
  // two-step sign-in: a wrong or spent code; a pending sign-in that expired or is not the hub's
  | 'ERR_TWO_STEP_CODE'
  | 'ERR_LOGIN_EXPIRED'
  | 'ERR_TWO_STEP_REQUIRED'
  // login hub
  | 'ERR_LOGIN_FAILED'
  | 'ERR_RATE_LIMITED'
  | 'ERR_CSRF'
  | 'ERR_CROSS_SITE'
  | 'ERR_SESSION_LIMIT'
  | 'ERR_SESSION_ENDED'
  | 'ERR_MAGIC_LINK_INVALID'
  | 'ERR_NOT_SIGNED_IN'
  | 'ERR_FORBIDDEN'
  // admin API (bearer tokens from `tessera admin-tokens create`)
  | 'ERR_ADMIN_TOKEN'
  // session projections (src/core/projection/): a value PHP or JSON cannot carry, or stored text
  // that is not what PHP's serializers write
  | 'ERR_PROJECTION_FORMAT'
  // HTTP surface
  | 'ERR_NOT_FOUND'
  | 'ERR_BAD_REQUEST'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_INTERNAL';

/** Which HTTP status each code answers with when it reaches a client. */
const statusByCode: Partial<Record<TesseraErrorCode, number>> = {
  ERR_STORE_UNAVAILABLE: 503,
  ERR_HUB_UNAVAILABLE: 503,
  ERR_SITE_CREDENTIAL: 401,
  ERR_LOGIN_FAILED: 401,
  ERR_NOT_SIGNED_IN: 401,
  ERR_RATE_LIMITED: 429,
  ERR_CSRF: 403,
  ERR_CROSS_SITE: 403,
  ERR_FORBIDDEN: 403,
  ERR_ADMIN_TOKEN: 401,
  ERR_SESSION_LIMIT: 409,
  ERR_SESSION_ENDED: 409,
  ERR_NOT_FOUND: 404,
  ERR_EMAIL_INVALID: 400,
  ERR_MAIL_SEND_FAILED: 503,
  ERR_USER_EXISTS: 409,
  ERR_USER_NOT_FOUND: 404,
  ERR_PASSWORD_POLICY: 400,
  ERR_PASSWORD_INCORRECT: 403,
  ERR_PASSWORD_MISMATCH: 400,
  ERR_REAUTHENTICATION_REQUIRED: 403,
  ERR_TWO_STEP_CODE: 401,
  ERR_LOGIN_EXPIRED: 400,
  ERR_TWO_STEP_REQUIRED: 403,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_INTERNAL: 500,
  ERR_CONFIG_INVALID: 500,
  ERR_KEY_NO_ACTIVE: 500,
  ERR_KEY_INVALID: 500,
  // The hub writes and reads projections itself; a failure is its own fault, never the client's.
  ERR_PROJECTION_FORMAT: 500,
};

/**
 * An error with a stable code and the HTTP status it maps to. `expose` follows Koa's rule:
 * only client errors (status < 500) show their message to the client.
 *
 * @example
 * throw new TesseraError('ERR_HANDOFF_EXPIRED', 'token expired', { claim: 'exp' });
 */
export class TesseraError extends Error {
  readonly code: TesseraErrorCode;
  readonly status: number;
  readonly expose: boolean;
  /** For claim errors: which claim failed. */
  readonly claim: string | undefined;

  constructor(code: TesseraErrorCode, message: string, options: { cause?: unknown; claim?: string; status?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TesseraError';
    this.code = code;
    this.status = options.status ?? statusByCode[code] ?? 400;
    this.expose = this.status < 500;
    this.claim = options.claim;
  }
}

/** True when `err` is a Tessera error with the given code (realm-safe: compares `code`). */
export function hasCode(err: unknown, code: TesseraErrorCode): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
