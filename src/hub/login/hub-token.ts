/**
 * Short-lived tokens the hub signs for itself alone (`iss` = `aud` = the hub's public URL) and
 * reads back later from the same browser or mailbox: the pending second step of a sign-in, the
 * confirmation of a new e-mail address. Signed with the hub's own keys, so any instance can
 * check one and nobody else can make one; each type has its own `typ`, so one kind is never
 * taken for another, nor for a handoff or logout token (which carry a site as `aud`).
 */
import { nowSeconds } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import { signCompactJws, verifyCompactJws } from '../../core/tokens/compact-jws';
import type { TokenCheck, TokenCodes } from '../../core/tokens/rejection-codes';
import type { HubDeps } from '../deps';

const checks: TokenCheck[] = ['oversize', 'malformed', 'duplicate', 'alg', 'typ', 'kidMissing', 'kidMalformed', 'kidUnknown', 'headerForbidden', 'signature', 'issuer', 'audience', 'expired', 'iatFuture', 'lifetime', 'claims', 'jtiMissing'];
/** Every failed check means the same to the person: start again. */
const codes = Object.fromEntries(checks.map((check) => [check, 'ERR_LOGIN_EXPIRED'])) as unknown as TokenCodes;

/** A token of type `typ` carrying `claims`, valid for `ttlSeconds`. */
export function mintHubToken(deps: Pick<HubDeps, 'config' | 'clock' | 'keyring'>, typ: string, claims: Record<string, unknown>, ttlSeconds: number): string {
  const now = nowSeconds(deps.clock);
  return signCompactJws({ ...claims, iss: deps.config.publicUrl, aud: deps.config.publicUrl, iat: now, exp: now + ttlSeconds }, deps.keyring.signingKey(), typ);
}

/**
 * The claims of `token` when it is a live token of type `typ` the hub made (signature, issuer,
 * audience, not expired, not from the future, lifetime at most `maxTtlSeconds`); null otherwise.
 */
export async function readHubToken(deps: Pick<HubDeps, 'config' | 'clock' | 'keyring'>, typ: string, token: string, maxTtlSeconds: number): Promise<Record<string, unknown> | null> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await verifyCompactJws(token, { typ, codes, algorithms: [deps.config.tokens.algorithm], keys: (kid) => deps.keyring.verificationKey(kid), maxTokenBytes: 4096 }));
  } catch (err) {
    if (err instanceof TesseraError) return null;
    throw err;
  }
  const now = nowSeconds(deps.clock);
  const { iss, aud, iat, exp } = payload;
  if (iss !== deps.config.publicUrl || aud !== deps.config.publicUrl) return null;
  if (typeof iat !== 'number' || typeof exp !== 'number' || exp <= now || iat > now + 5 || exp - iat > maxTtlSeconds) return null;
  return payload;
}
