import type { TesseraErrorCode } from '../errors';

/**
 * The checks every signed token type shares (compact-jws.ts for the header and signature,
 * registered-claims.ts for the claims). Each token type maps them to its own error codes, so a
 * handoff rejection reads `ERR_HANDOFF_…` and a logout-token rejection its own family, while
 * the checks themselves exist once.
 */
export type TokenCheck =
  | 'oversize'
  | 'malformed'
  | 'duplicate'
  | 'alg'
  | 'typ'
  | 'kidMissing'
  | 'kidMalformed'
  | 'kidUnknown'
  | 'headerForbidden'
  | 'signature'
  | 'issuer'
  | 'audience'
  | 'expired'
  | 'iatFuture'
  | 'lifetime'
  | 'claims'
  | 'jtiMissing';

/** The error code a token type answers with for each shared check. */
export type TokenCodes = Readonly<Record<TokenCheck, TesseraErrorCode>>;

/** How each check's code ends: every family reads `ERR_<FAMILY>_<suffix>`. */
const CODE_SUFFIXES = {
  oversize: 'OVERSIZE',
  malformed: 'MALFORMED',
  duplicate: 'DUPLICATE_CLAIM',
  alg: 'ALG',
  typ: 'TYP',
  kidMissing: 'KID_MISSING',
  kidMalformed: 'KID_MALFORMED',
  kidUnknown: 'KID_UNKNOWN',
  headerForbidden: 'HEADER_FORBIDDEN',
  signature: 'SIGNATURE',
  issuer: 'ISSUER',
  audience: 'AUDIENCE',
  expired: 'EXPIRED',
  iatFuture: 'IAT_FUTURE',
  lifetime: 'LIFETIME',
  claims: 'CLAIMS',
  jtiMissing: 'JTI_MISSING',
} as const satisfies Record<TokenCheck, string>;

/** The codes of one token family, spelled out so that assigning them to {@link TokenCodes} proves each exists in errors.ts. */
export type FamilyCodes<F extends string> = { readonly [C in TokenCheck]: `ERR_${F}_${(typeof CODE_SUFFIXES)[C]}` };

/**
 * The codes of one token family (`HANDOFF`, `LOGOUT`). Declare the result as {@link TokenCodes}:
 * the compiler then refuses a family whose codes errors.ts does not list.
 *
 * @example
 * const LOGOUT_CODES: TokenCodes = tokenCodes('LOGOUT'); // LOGOUT_CODES.typ === 'ERR_LOGOUT_TYP'
 */
export function tokenCodes<F extends string>(family: F): FamilyCodes<F> {
  const entries = Object.entries(CODE_SUFFIXES).map(([check, suffix]) => [check, `ERR_${family}_${suffix}`]);
  return Object.freeze(Object.fromEntries(entries)) as FamilyCodes<F>;
}
