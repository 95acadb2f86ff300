import * as argon2 from 'argon2';
import { dummyVerify, hashPassword, passwordLimits, passwordNeedsRehash, verifyPassword } from '../../src/users/password';
import { codeOf } from '../support/errors';


async function millis(action: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await action();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

describe('password hashing', () => {
  let stored: string;

  beforeAll(async () => {
    stored = await hashPassword('correct horse battery');
  });

  it('hashes with argon2id and the pinned parameters', () => {
    const [, algorithm, version, params] = stored.split('$');
    expect([algorithm, version]).toEqual(['argon2id', 'v=19']);
    expect(Object.fromEntries((params ?? '').split(',').map((pair) => pair.split('=')))).toEqual({ m: '65536', t: '3', p: '4' });
    expect(passwordNeedsRehash(stored)).toBe(false);
  });

  it('salts every hash', async () => {
    expect(await hashPassword('correct horse battery')).not.toBe(stored);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    expect(await verifyPassword(stored, 'correct horse battery')).toBe(true);
    expect(await verifyPassword(stored, 'correct horse battery ')).toBe(false);
    expect(await verifyPassword(stored, 'Correct horse battery')).toBe(false);
  });

  it('matches composed and decomposed accents alike (NFKC)', async () => {
    const composed = await hashPassword('caf\u00e9 au lait');
    expect(await verifyPassword(composed, 'cafe\u0301 au lait')).toBe(true);
  });

  it('asks for a rehash of hashes made with other parameters', async () => {
    const weaker = await argon2.hash('correct horse battery', { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    expect(passwordNeedsRehash(weaker)).toBe(true);
    expect(await verifyPassword(weaker, 'correct horse battery')).toBe(true);
  });

  it('answers false from dummyVerify', async () => {
    expect(await dummyVerify('correct horse battery')).toBe(false);
  });
});

describe('password policy', () => {
  it('refuses empty passwords everywhere with ERR_PASSWORD_POLICY', async () => {
    const stored = await hashPassword('long enough');
    expect(await codeOf(hashPassword(''))).toBe('ERR_PASSWORD_POLICY');
    expect(await codeOf(verifyPassword(stored, ''))).toBe('ERR_PASSWORD_POLICY');
    expect(await codeOf(dummyVerify(''))).toBe('ERR_PASSWORD_POLICY');
  });

  it('refuses input over 1024 bytes everywhere, counting UTF-8 bytes', async () => {
    const stored = await hashPassword('long enough');
    const oversize = 'é'.repeat(513); // 1026 bytes, 513 characters
    expect(passwordLimits.maxBytes).toBe(1024);
    expect(await codeOf(hashPassword(oversize))).toBe('ERR_PASSWORD_POLICY');
    expect(await codeOf(verifyPassword(stored, oversize))).toBe('ERR_PASSWORD_POLICY');
    expect(await codeOf(dummyVerify(oversize))).toBe('ERR_PASSWORD_POLICY');
    expect(await codeOf(hashPassword('x'.repeat(1025)))).toBe('ERR_PASSWORD_POLICY');
    expect(await verifyPassword(await hashPassword('x'.repeat(1024)), 'x'.repeat(1024))).toBe(true);
  });

  it('requires 8 characters for a new password, counted as code points', async () => {
    expect(await codeOf(hashPassword('seven77'))).toBe('ERR_PASSWORD_POLICY');
    expect(await codeOf(hashPassword('😀'.repeat(7)))).toBe('ERR_PASSWORD_POLICY'); // 14 UTF-16 units
    expect(await codeOf(hashPassword('eight888'))).toBe('resolved');
    expect(await codeOf(hashPassword('😀'.repeat(8)))).toBe('resolved');
  });

  it('still verifies a short password set under an older policy', async () => {
    const legacy = await argon2.hash('short', { type: argon2.argon2id });
    expect(await verifyPassword(legacy, 'short')).toBe(true);
  });
});

describe('login timing', () => {
  // A sanity check that an unknown account costs about as much as a known one (no user
  // enumeration by timing), not a benchmark: medians, loose bound.
  it('spends comparable time for unknown user, wrong password and right password', async () => {
    const stored = await hashPassword('correct horse battery');
    await dummyVerify('warm-up'); // the dummy hash is made on first use
    const unknown: number[] = [];
    const wrong: number[] = [];
    const right: number[] = [];
    for (let i = 0; i < 5; i++) {
      unknown.push(await millis(() => dummyVerify('correct horse battery')));
      wrong.push(await millis(() => verifyPassword(stored, 'wrong horse battery')));
      right.push(await millis(() => verifyPassword(stored, 'correct horse battery')));
    }
    const medians = [median(unknown), median(wrong), median(right)];
    expect(Math.max(...medians) / Math.min(...medians)).toBeLessThan(3);
    // 16 argon2id runs of ~130 ms each, slower when the test runner shares the cores.
  }, 120_000);
});
