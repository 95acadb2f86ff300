// Handoff token throughput on one core, against raw node:crypto in the same run.
//
// Targets (issue "keys, JWKS and the handoff token core"):
//   mintHandoff   >= 0.95 × raw RSA-2048 sign    (everything but the signature must be noise)
//   verifyHandoff >= 0.70 × raw RSA-2048 verify  (parsing and every check of DESIGN.md included)
// jsonwebtoken's sign and verify are measured too, for reference: they are why src/core/tokens
// calls node:crypto itself (see compact-jws.ts).
//
// Method: on this one thread, each round measures raw sign against its subjects, then raw
// verify against its subjects, alternating small batches of each for BENCH_ROUND_MS per
// operation (default 1000), so both sides of a ratio share the same machine load. Figures and
// ratios are medians over BENCH_ROUNDS rounds (default 5) after one warm-up round. The raw
// figures sign and verify the very signing input of a handoff token with the same KeyObjects.
'use strict';

const { Buffer } = require('node:buffer');
const crypto = require('node:crypto');
const os = require('node:os');
const jwt = require('jsonwebtoken');
const { FrozenClock } = require('../dist/core/clock');
const { Keyring } = require('../dist/core/keys/keyring');
const { mintHandoff, verifyHandoff } = require('../dist/core/tokens/handoff');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1000);
/** Distinct tokens for the verify loop: each verify records its jti, so tokens cycle through a pool. */
const POOL_SIZE = 1000;

const issuer = 'https://login.example.com';
const site = { audience: 'https://www.example.org', destinationHost: 'www.example.org' };
const input = { audience: site.audience, sid: crypto.randomBytes(16).toString('base64url'), sub: 'user-42', src: 'login.example.com', identity: { email: 'ada@example.org' } };

/** Keys in memory: this measures tokens, not the keys/ directory. */
function memoryKeyStore() {
  const keys = new Map();
  return {
    load: async () => [...keys.values()],
    save: async (key) => void keys.set(key.kid, key),
    remove: async (kid) => void keys.delete(kid),
  };
}

/**
 * Calls per second of `baseline` and of each subject, measured in alternating batches for about
 * `ms` each. Subjects are awaited one call at a time, as a request handler would.
 */
async function interleaved(baseline, subjects, ms, batch) {
  const ops = [baseline, ...subjects];
  const ns = ops.map(() => 0n);
  let calls = 0;
  while (ns[0] < BigInt(ms) * 1_000_000n) {
    let start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) baseline();
    for (let s = 1; s < ops.length; s++) {
      const end = process.hrtime.bigint();
      ns[s - 1] += end - start;
      start = end;
      for (let i = 0; i < batch; i++) await ops[s]();
    }
    ns[ops.length - 1] += process.hrtime.bigint() - start;
    calls += batch;
  }
  return ns.map((total) => (calls * 1e9) / Number(total));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function run() {
  // The clock is frozen so that pooled tokens never expire however long the run takes.
  const clock = new FrozenClock(Date.now());
  const keyring = await Keyring.open(memoryKeyStore(), { algorithm: 'RS256', clock, maxTokenTtlSeconds: 125, jwksMaxAgeSeconds: 300 });
  const { kid, privateKey } = keyring.signingKey();
  const publicKey = crypto.createPublicKey(privateKey);

  const mint = () => mintHandoff(keyring, input, { clock, issuer, ttlSeconds: 30 });
  const sample = mint();
  const signingInput = Buffer.from(sample.slice(0, sample.lastIndexOf('.')));
  const signature = Buffer.from(sample.slice(sample.lastIndexOf('.') + 1), 'base64url');
  const samplePayload = JSON.parse(Buffer.from(sample.split('.')[1], 'base64url').toString());

  const pool = Array.from({ length: POOL_SIZE }, mint);
  const seen = new Map();
  let next = 0;
  const verifyOptions = {
    keys: (tokenKid) => keyring.verificationKey(tokenKid),
    algorithms: ['RS256'],
    issuer,
    ...site,
    isKnownSource: (host) => host === 'login.example.com',
    clock,
    rememberJti: async (jti, expiresAt) => {
      if (seen.has(jti)) return false;
      seen.set(jti, expiresAt);
      return true;
    },
  };
  const verify = () => {
    if (next === POOL_SIZE) {
      // A new pass over the pool: forget the jtis, as expiry would.
      next = 0;
      seen.clear();
    }
    return verifyHandoff(pool[next++], verifyOptions);
  };

  const signing = {
    'raw sign (node:crypto)': () => crypto.sign('sha256', signingInput, privateKey),
    mintHandoff: mint,
    'jsonwebtoken.sign, same claims (reference)': () => jwt.sign(samplePayload, privateKey, { algorithm: 'RS256', keyid: kid, header: { alg: 'RS256', typ: 'handoff+jwt' } }),
  };
  const verifying = {
    'raw verify (node:crypto)': () => {
      if (!crypto.verify('sha256', signingInput, publicKey, signature)) throw new Error('raw verify failed');
    },
    verifyHandoff: verify,
    // Signature and parsing only (no typ, crit, jti or future-iat checks): a lower bound for it.
    'jsonwebtoken.verify (reference)': () => jwt.verify(sample, publicKey, { algorithms: ['RS256'], issuer, audience: site.audience, ignoreExpiration: true }),
  };

  const rates = new Map();
  const ratios = new Map();
  const record = (group, measured) => {
    const labels = Object.keys(group);
    labels.forEach((label, i) => {
      rates.set(label, [...(rates.get(label) ?? []), measured[i]]);
      if (i > 0) ratios.set(label, [...(ratios.get(label) ?? []), measured[i] / measured[0]]);
    });
  };
  for (let round = 0; round <= ROUNDS; round++) {
    const [rawSign, ...signers] = Object.values(signing);
    const signed = await interleaved(rawSign, signers, ROUND_MS, 10);
    const [rawVerify, ...verifiers] = Object.values(verifying);
    const verified = await interleaved(rawVerify, verifiers, ROUND_MS, 100);
    if (round === 0) continue; // warm-up
    record(signing, signed);
    record(verifying, verified);
  }

  const targets = { mintHandoff: 0.95, verifyHandoff: 0.7 };
  const rows = [];
  for (const group of [signing, verifying]) {
    const [baseline, ...subjects] = Object.keys(group);
    rows.push({ label: baseline, opsPerSecond: median(rates.get(baseline)) });
    for (const label of subjects) {
      rows.push({ label, opsPerSecond: median(rates.get(label)), compare: { to: baseline, ratio: median(ratios.get(label)), atLeast: targets[label] } });
    }
  }
  return {
    context: `RS256, RSA-2048, one core; medians of ${ROUNDS} rounds, ${ROUND_MS} ms per operation per round, alternating batches; load average ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} cores`,
    rows,
  };
}

module.exports = { title: 'handoff token mint and verify vs raw node:crypto sign and verify', run };
