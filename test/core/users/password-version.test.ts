import { passwordChangedSince } from '../../../src/core/users/password-version';

describe('passwordChangedSince', () => {
  it('is false while the password is the one the sign-in checked', () => {
    expect(passwordChangedSince(3, { passwordVersion: 3 })).toBe(false);
    expect(passwordChangedSince(0, { passwordVersion: 0 })).toBe(false);
  });

  it('is true once the password was set, changed or removed since', () => {
    expect(passwordChangedSince(3, { passwordVersion: 4 })).toBe(true);
    expect(passwordChangedSince(0, { passwordVersion: 1 })).toBe(true);
  });

  it('is never true for a sign-in that checked no password (null: an e-mail link)', () => {
    expect(passwordChangedSince(null, { passwordVersion: 0 })).toBe(false);
    expect(passwordChangedSince(null, { passwordVersion: 7 })).toBe(false);
  });
});
