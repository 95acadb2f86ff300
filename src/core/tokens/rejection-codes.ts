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
