/** The TOTP and recovery-code helpers of two-step sign-in (src/users/two-step.ts). */
import { generate } from 'otplib';
import { hashRecoveryCode, looksLikeRecoveryCode, newRecoveryCodes, newTotpSecret, normalizeTotpCode, totpStep, totpUri } from '../../src/users/two-step';

describe('TOTP', () => {
  const secret = newTotpSecret();
  const t = 1_800_000_000;

  it('makes 160-bit base32 secrets, a new one each time', () => {
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(newTotpSecret()).not.toBe(secret);
  });

  it('accepts the current step and one either side, names the step, and nothing further away', async () => {
    const code = await generate({ secret, epoch: t });
    expect(await totpStep(secret, code, t)).toBe(Math.floor(t / 30));
    expect(await totpStep(secret, code, t + 30)).toBe(Math.floor(t / 30));
    expect(await totpStep(secret, code, t - 30)).toBe(Math.floor(t / 30));
    expect(await totpStep(secret, code, t + 90)).toBeNull();
    expect(await totpStep(newTotpSecret(), code, t)).toBeNull();
  });

  it('takes "123 456" as 123456, and nothing that is not six digits', async () => {
    expect(normalizeTotpCode(' 123 456 ')).toBe('123456');
    expect(normalizeTotpCode('12345')).toBeNull();
    expect(normalizeTotpCode('12345a')).toBeNull();
    expect(await totpStep(secret, '1234567', t)).toBeNull();
  });

  it('names the issuer and the account in the otpauth URI', () => {
    expect(totpUri({ issuer: 'Tessera (hub.example.com)', account: 'ada@example.com', secret })).toBe(
      `otpauth://totp/Tessera%20(hub.example.com):ada%40example.com?secret=${secret}&issuer=Tessera%20(hub.example.com)`,
    );
  });
});

describe('recovery codes', () => {
  it('makes ten distinct codes of 12 base32 characters, with their SHA-256 hashes', () => {
    const { codes, hashes } = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    expect(hashes).toEqual(codes.map(hashRecoveryCode));
    expect(hashes[0]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('hashes a code the same whatever its case, spaces and dashes', () => {
    expect(hashRecoveryCode('ABCD EFGH-2345')).toBe(hashRecoveryCode('abcd-efgh-2345'));
    expect(hashRecoveryCode('abcd-efgh-2346')).not.toBe(hashRecoveryCode('abcd-efgh-2345'));
    expect(looksLikeRecoveryCode('ABCD EFGH 2345')).toBe(true);
    expect(looksLikeRecoveryCode('abcd-efgh-2341')).toBe(false);
    expect(looksLikeRecoveryCode('123456')).toBe(false);
  });
});
