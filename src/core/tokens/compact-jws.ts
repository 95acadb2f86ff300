/**
 * The signing and verification skeleton every Tessera token type shares (handoff tokens and
 * logout tokens): a token type supplies its `typ` and its error codes, and gets the
 * checks of DESIGN.md "The handoff token" up to and including the signature, in this order:
 *
 *   size → structure, base64url, JSON, duplicate members → alg allow-list → typ →
 *   forbidden headers → kid shape → key lookup → signature
 *
 * Everything before the key lookup is pure string work bounded by the size limit, so a forged
 * token costs no key lookup (and, for a JWKS-backed lookup, no fetch). Claims are checked
 * afterwards by the token type (registered-claims.ts for the shared ones).
 *
 * Signing and verification call node:crypto directly rather than going through jsonwebtoken.
 * Measured on one core (bench/README.md): jsonwebtoken.sign runs at about 0.95 × a raw
 * RSA-2048 signature (a streaming Sign object, payload cloning and validation), and
 * jsonwebtoken.verify at about 0.58 × a raw verification, under the 0.7 target before any
 * check of ours, because it splits, decodes and parses the token again; we must parse it
 * ourselves anyway, to refuse duplicate members and non-canonical base64url, which it accepts.
 * The compact serialization is RFC 7515 §7.1 in a few lines; tests check that jsonwebtoken,
 * which destinations use, verifies what we sign and that we verify what it signs.
 */
import { isUtf8 } from 'node:buffer';
import { sign, verify, type KeyObject } from 'node:crypto';
import { TesseraError } from '../errors';
import type { SigningAlgorithm } from '../../ports';
import type { SigningKey, VerificationKey } from '../keys/keyring';
import type { TokenCodes } from './rejection-codes';
import { parseJsonObject } from './strict-json';

/** Where a verifier finds the key for a kid: the hub's keyring, or a JWKS client (a native Promise). */
export type KeyLookup = (kid: string) => VerificationKey | null | Promise<VerificationKey | null>;

/** The algorithms a verifier may be configured with: asymmetric only, never `none` or HS*. */
export const SUPPORTED_ALGORITHMS: readonly SigningAlgorithm[] = ['RS256', 'ES256'];

/** Longest token a verifier accepts unless configured otherwise; a Tessera token is well under 1 KiB. */
export const DEFAULT_MAX_TOKEN_BYTES = 4096;

/** Anything that can name the key to sign with now, e.g. the {@link Keyring}. */
export interface TokenSigner {
  signingKey(): SigningKey;
}

/** How a verifier of any token type finds and accepts keys: options of every `verify…` function. */
export interface VerifierKeyOptions {
  /** The key for a kid: the keyring (sync) or a JWKS client (async). */
  keys: KeyLookup;
  /** Configured algorithms, from RS256 / ES256; never read from the token. */
  algorithms: readonly SigningAlgorithm[];
  /** Longer tokens are refused before any parsing. Default {@link DEFAULT_MAX_TOKEN_BYTES}. */
  maxTokenBytes?: number;
}

/** Header parameters that point at a key source or demand extensions we do not implement (RFC 8725 §3.10, RFC 7515 §4.1.11). */
const FORBIDDEN_HEADERS = ['crit', 'jku', 'x5u', 'jwk', 'x5c'] as const;

/** A kid is an RFC 7638 thumbprint (43 characters); this shape is checked before any lookup. */
const KID = /^[A-Za-z0-9_-]{1,64}$/;

export interface JwsVerification {
  /** The only `typ` accepted (explicit typing, RFC 8725 §3.11): no cross-token confusion. */
  typ: string;
  codes: TokenCodes;
  /** Configured algorithms, a subset of {@link SUPPORTED_ALGORITHMS}; never taken from the token. */
  algorithms: readonly SigningAlgorithm[];
  keys: KeyLookup;
  /** Longest accepted token, checked before any parsing work. */
  maxTokenBytes: number;
}

/** A token whose header checks and signature passed; its claims are not checked yet. */
export interface VerifiedJws {
  header: Readonly<Record<string, unknown>>;
  payload: Record<string, unknown>;
  kid: string;
}

/**
 * Signs `payload` as a compact JWS with header `{alg, typ, kid}` (RFC 7515 §7.1).
 *
 * @example
 * signCompactJws({ iss, aud, iat, exp, jti }, keyring.signingKey(), 'handoff+jwt');
 */
export function signCompactJws(payload: Record<string, unknown>, key: SigningKey, typ: string): string {
  const signingInput = `${headerSegment(key, typ)}.${base64url(JSON.stringify(payload))}`;
  const signature = sign('sha256', asciiBytes(signingInput), signKey(key));
  return `${signingInput}.${signature.toString('base64url')}`;
}

/**
 * {@link signCompactJws} with the signature computed on libuv's thread pool (node:crypto's
 * asynchronous `sign`): a caller minting several tokens at once (a cold `loader.js`, five
 * beacons) has them signed in parallel on as many cores as the pool finds, and the event loop
 * stays free meanwhile. Same token, byte for byte.
 *
 * @example
 * const tokens = await Promise.all(sites.map((aud) => signCompactJwsAsync({ iss, aud, iat, exp, jti }, keyring.signingKey(), 'handoff+jwt')));
 */
export async function signCompactJwsAsync(payload: Record<string, unknown>, key: SigningKey, typ: string): Promise<string> {
  const signingInput = `${headerSegment(key, typ)}.${base64url(JSON.stringify(payload))}`;
  // Its own buffer, not the shared scratch one: the job reads it after this function returns.
  const data = Buffer.from(signingInput, 'latin1');
  return new Promise((resolve, reject) => {
    sign('sha256', data, signKey(key), (err, signature) => (err ? reject(err) : resolve(`${signingInput}.${signature.toString('base64url')}`)));
  });
}

/** The private key as node:crypto takes it: JWS carries ECDSA signatures as r || s (RFC 7518 §3.4), not DER. */
function signKey(key: SigningKey): KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' } {
  return key.alg === 'RS256' ? key.privateKey : { key: key.privateKey, dsaEncoding: 'ieee-p1363' };
}

/** The encoded header of the last key and typ used: the same for every token until rotation. */
let lastSigned = { alg: '', typ: '', kid: '', segment: '' };

function headerSegment(key: SigningKey, typ: string): string {
  if (lastSigned.kid !== key.kid || lastSigned.alg !== key.alg || lastSigned.typ !== typ) {
    lastSigned = { alg: key.alg, typ, kid: key.kid, segment: base64url(JSON.stringify({ alg: key.alg, typ, kid: key.kid })) };
  }
  return lastSigned.segment;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/**
 * The bytes of an ASCII string for node:crypto, written into one reused buffer rather than a
 * fresh one per token. Valid only until the next call: callers use it at once, synchronously.
 */
let scratch = Buffer.alloc(4096);

function asciiBytes(text: string): Buffer {
  if (scratch.length < text.length) scratch = Buffer.alloc(text.length);
  return scratch.subarray(0, scratch.write(text, 'latin1'));
}

/**
 * Runs the shared checks on `token` and returns its parsed header and payload. Each failure
 * throws a {@link TesseraError} with the token type's code for that check; a verifier
 * configured with no algorithm, one outside {@link SUPPORTED_ALGORITHMS} or a size limit that
 * is not a positive integer throws `ERR_CONFIG_INVALID` instead. Synchronous when
 * the key lookup is (the hub's keyring): an `await` per token would be measurable (bench/).
 *
 * @example
 * const { payload, kid } = await verifyCompactJws(token, { typ: 'handoff+jwt', codes, algorithms: ['RS256'], keys, maxTokenBytes: 4096 });
 */
export function verifyCompactJws(token: unknown, options: JwsVerification): VerifiedJws | Promise<VerifiedJws> {
  checkConfiguration(options);
  const decoded = decodeCompactJws(token, options);
  const key = options.keys(decoded.kid);
  return key instanceof Promise ? key.then((found) => checkSignature(decoded, found, options.codes)) : checkSignature(decoded, key, options.codes);
}

/** A misconfigured verifier fails loudly, before it can accept anything: never a token's fault. */
function checkConfiguration({ algorithms, maxTokenBytes }: JwsVerification): void {
  if (!Number.isSafeInteger(maxTokenBytes) || maxTokenBytes <= 0) throw new TesseraError('ERR_CONFIG_INVALID', '"maxTokenBytes" must be a positive integer');
  if (algorithms.length === 0 || !algorithms.every((alg) => SUPPORTED_ALGORITHMS.includes(alg))) {
    throw new TesseraError('ERR_CONFIG_INVALID', `"algorithms" must be a non-empty list of ${SUPPORTED_ALGORITHMS.join(', ')}`);
  }
}

/** A token that passed every check before the key lookup. */
interface DecodedJws extends VerifiedJws {
  alg: SigningAlgorithm;
  /** The ASCII text the signature covers: `header.payload`. */
  signingInput: string;
  signature: Buffer;
}

/** Size, structure, encoding, JSON, alg, typ, forbidden headers and kid: pure string work. */
function decodeCompactJws(token: unknown, options: JwsVerification): DecodedJws {
  const { codes } = options;
  if (typeof token !== 'string') throw new TesseraError(codes.malformed, 'token is not a string');
  // Every valid character is ASCII, so length in UTF-16 units bounds the work like bytes do.
  if (token.length > options.maxTokenBytes) throw new TesseraError(codes.oversize, `token longer than ${options.maxTokenBytes} bytes`);

  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  // A third dot would sit in the signature segment, which then fails as base64url.
  if (firstDot < 0 || secondDot < 0) {
    throw new TesseraError(codes.malformed, 'token is not three dot-separated segments');
  }
  const headerSegment = token.slice(0, firstDot);
  const last = lastHeader;
  const known = last !== null && last.segment === headerSegment && last.typ === options.typ && options.algorithms.includes(last.alg) ? last : null;
  const header = known?.header ?? decodeJsonSegment(headerSegment, 'header', codes);
  const payload = decodeJsonSegment(token.slice(firstDot + 1, secondDot), 'payload', codes);
  const signature = decodeSegment(token.slice(secondDot + 1));
  if (signature === null) throw new TesseraError(codes.malformed, 'signature is not base64url');
  const { alg, kid } = known ?? checkHeader(headerSegment, header, options);
  return { header, payload, kid, alg, signingInput: token.slice(0, secondDot), signature };
}

interface CheckedHeader {
  segment: string;
  typ: string;
  header: Readonly<Record<string, unknown>>;
  alg: SigningAlgorithm;
  kid: string;
}

/**
 * Every token a key signs carries the same header segment, so the last header that passed the
 * header checks is remembered: the next token with that exact segment, verified for the same
 * typ with its alg still allowed, skips decoding and checking it again (a tenth of the
 * non-crypto work of a verification). Only the typ and alg checks depend on the verifier, and
 * they are the two compared. One entry, frozen: any other header is decoded and checked.
 */
let lastHeader: CheckedHeader | null = null;

/** alg, typ, forbidden parameters and kid, in that order; remembers the header that passed. */
function checkHeader(segment: string, header: Record<string, unknown>, options: JwsVerification): CheckedHeader {
  const { codes } = options;
  const alg = header.alg;
  if (typeof alg !== 'string' || !options.algorithms.includes(alg as SigningAlgorithm)) {
    throw new TesseraError(codes.alg, `alg ${JSON.stringify(alg)} is not accepted`);
  }
  if (header.typ !== options.typ) throw new TesseraError(codes.typ, `typ must be ${options.typ}`);
  for (const name of FORBIDDEN_HEADERS) {
    if (Object.hasOwn(header, name)) throw new TesseraError(codes.headerForbidden, `header parameter ${name} is not accepted`);
  }
  const kid = header.kid;
  if (kid === undefined) throw new TesseraError(codes.kidMissing, 'kid header missing');
  if (typeof kid !== 'string' || !KID.test(kid)) throw new TesseraError(codes.kidMalformed, 'kid header malformed');
  lastHeader = { segment, typ: options.typ, header: Object.freeze(header), alg: alg as SigningAlgorithm, kid };
  return lastHeader;
}

function checkSignature(decoded: DecodedJws, key: VerificationKey | null, codes: TokenCodes): VerifiedJws {
  const { kid, alg } = decoded;
  if (!key) throw new TesseraError(codes.kidUnknown, 'no published key for this kid');
  if (key.alg !== alg) throw new TesseraError(codes.alg, `key ${kid} signs ${key.alg}, token says ${alg}`);
  if (!signatureValid(key, decoded.signingInput, decoded.signature)) throw new TesseraError(codes.signature, 'bad signature');
  return { header: decoded.header, payload: decoded.payload, kid };
}

/**
 * The signature check, with the alg pinned to the key's own. The key itself must suit the alg
 * (what jsonwebtoken's key validation would add): see {@link keySuits}.
 */
function signatureValid(key: VerificationKey, signingInputText: string, signature: Buffer): boolean {
  if (!keySuits(key)) return false;
  // ASCII, since both segments decoded as strict base64url.
  const signingInput = asciiBytes(signingInputText);
  try {
    return key.alg === 'RS256'
      ? verify('sha256', signingInput, key.publicKey, signature)
      : // JWS carries ECDSA signatures as r || s (RFC 7518 §3.4), not DER.
        signature.length === 64 && verify('sha256', signingInput, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/** Public keys already found to suit their alg; KeyObjects are immutable, so once is enough. */
const suitableKeys = new WeakMap<KeyObject, SigningAlgorithm>();

/**
 * The key type fits the alg (an rsa-pss or HMAC key never passes for RS256), RSA has at least
 * 2048 bits, EC is on P-256 only (SECURITY.md "Tokens").
 */
function keySuits({ alg, publicKey }: VerificationKey): boolean {
  if (suitableKeys.get(publicKey) === alg) return true;
  const details = publicKey.asymmetricKeyDetails;
  const suits =
    alg === 'RS256'
      ? publicKey.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048
      : publicKey.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1';
  if (suits) suitableKeys.set(publicKey, alg);
  return suits;
}

function decodeJsonSegment(segment: string, part: 'header' | 'payload', codes: TokenCodes): Record<string, unknown> {
  const bytes = decodeSegment(segment);
  if (bytes === null) throw new TesseraError(codes.malformed, `${part} is not base64url`);
  if (!isUtf8(bytes)) throw new TesseraError(codes.malformed, `${part} is not UTF-8`);
  const parsed = parseJsonObject(bytes.toString('utf8'));
  if (parsed.ok) return parsed.value;
  if (parsed.reason === 'duplicate') throw new TesseraError(codes.duplicate, `${part} has member ${JSON.stringify(parsed.member)} twice`, { claim: parsed.member });
  throw new TesseraError(codes.malformed, `${part} is not a JSON object`);
}

/**
 * Strict base64url: no padding, no stray characters, canonical trailing bits; null otherwise.
 * An empty segment is valid here (an unsecured JWS has an empty signature): the alg check
 * rejects `none`, and an empty header or payload is not JSON.
 */
function decodeSegment(segment: string): Buffer | null {
  // Buffer.from skips characters outside the alphabet; re-encoding exposes anything it skipped
  // or any non-canonical tail, so the round trip is the validity check.
  const bytes = Buffer.from(segment, 'base64url');
  return bytes.toString('base64url') === segment ? bytes : null;
}
