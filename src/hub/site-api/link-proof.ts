/**
 * The proof a link report carries (`POST /api/v1/sites/links`, docs/site-api.md): the handoff
 * token the calling site has just accepted for that sid. A site credential alone must not let a
 * site claim a session it never received: it would then get beacons (fresh tokens for every
 * other site), status answers and logout rights for any sid it learned.
 *
 * The token is checked as the site's own receiver checked it — header and signature with the
 * hub's keyring, `typ: handoff+jwt`, `iss`, `aud` and `dst` equal to the calling site, `src`
 * known, `iat`, lifetime — and its `sid` must be the reported one. Two differences, since the
 * site has already spent it:
 * - its jti need not be unspent, and nothing is recorded: a proof may be presented again. It is
 *   bound to the calling site (`aud`, `dst`) and to the sid, so a repeat can only record the same
 *   link again, which is harmless; and a report whose link the store failed to write (503) must
 *   be retryable with the same proof, or the site's status check would sign its visitor out;
 * - it may be up to LINK_PROOF_GRACE_SECONDS past `exp` (plus the clock tolerance): the SDK
 *   retries a report the hub could not take, and reports the token it kept in the site session
 *   again on later requests. The keyring keeps a retired key published at least that long after
 *   the last token it signed expired (LATE_VERIFICATION_SECONDS), so a rotation never cuts the
 *   grace short.
 */
import type { Site } from '../../config/schema';
import { nowSeconds, type Clock } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import { LATE_VERIFICATION_SECONDS } from '../../core/keys/keyring';
import { verifyCompactJws } from '../../core/tokens/compact-jws';
import { HANDOFF_TYP, verifyHandoffClaims, type HandoffClaims } from '../../core/tokens/handoff';
import { tokenCodes } from '../../core/tokens/rejection-codes';
import type { HubDeps } from '../deps';
import { verifyOptions } from '../receiver/accept-token';

/** How long past its expiry a handoff token still proves a link. */
export const LINK_PROOF_GRACE_SECONDS = LATE_VERIFICATION_SECONDS;

const HANDOFF_CODES = tokenCodes('HANDOFF');

/**
 * Checks that `token` proves `site` received a handoff of session `sid`; returns its claims.
 * Throws `ERR_LINK_PROOF`, the failed check named in the message, never the token. Reads and
 * writes nothing, so checking a proof twice answers the same.
 *
 * @example
 * const claims = await checkLinkProof(deps, ctx.state.callingSite, sid, formField(ctx, 'token'));
 */
export async function checkLinkProof(deps: HubDeps, site: Site, sid: string, token: unknown): Promise<HandoffClaims> {
  const { tokens } = deps.config;
  const options = verifyOptions(deps, site);
  try {
    const verifying = verifyCompactJws(token, { typ: HANDOFF_TYP, codes: HANDOFF_CODES, algorithms: options.algorithms, keys: options.keys, maxTokenBytes: tokens.maxTokenBytes });
    const { payload } = verifying instanceof Promise ? await verifying : verifying;
    // Only now, with the signature verified, is `exp` read (a missing one fails the claim checks).
    const now = nowSeconds(deps.clock);
    const exp = typeof payload.exp === 'number' && Number.isFinite(payload.exp) ? payload.exp : null;
    if (exp !== null && now >= exp + tokens.clockToleranceSeconds + LINK_PROOF_GRACE_SECONDS) {
      throw new TesseraError('ERR_HANDOFF_EXPIRED', 'token expired longer ago than the grace', { claim: 'exp' });
    }
    // The claims as the site saw them: at the latest in the last second before expiry, when the
    // expiry check passes even with no clock tolerance. Every other time check still holds
    // against the real time (an `iat` before `exp` is not in the future after it).
    const asOf: Clock = { now: () => (exp === null ? now : Math.min(now, exp - 1)) * 1000 };
    const { claims } = verifyHandoffClaims(payload, { ...options, clock: asOf });
    if (claims.sid !== sid) throw new TesseraError('ERR_HANDOFF_CLAIMS', 'sid is not the reported session', { claim: 'sid' });
    return claims;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_HANDOFF_')) throw err;
    throw new TesseraError('ERR_LINK_PROOF', `the token does not prove a handoff of this session to this site (${code})`, { cause: err });
  }
}
