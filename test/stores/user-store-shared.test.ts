import { planEmailKeys, type EmailKeyRow } from '../../src/stores/user-store-shared';

describe('planEmailKeys (the NFC migration of e-mail keys)', () => {
  const row = (id: string, email: string, emailNormalized: string, createdAt: number): EmailKeyRow => ({ id, email, emailNormalized, createdAt });

  it('moves only keys that change, oldest first, and never onto a key another account holds', () => {
    const plan = planEmailKeys(
      [
        row('nfc', 'Zo\u00eb@x.io', 'zo\u00eb@x.io', 1),
        row('young', 'ZOE\u0308@x.io', 'zoe\u0308@x.io', 3),
        row('old', 'Ame\u0301lie@x.io', 'ame\u0301lie@x.io', 2),
        row('older', 'Amelie\u0301@x.io', 'amelie\u0301@x.io', 1),
      ],
      new Map([['zo\u00eb@x.io', 'nfc']]),
    );
    expect(plan).toEqual({
      moves: [
        { id: 'older', key: 'amelie\u0301@x.io'.normalize('NFC') },
        { id: 'old', key: 'am\u00e9lie@x.io' },
      ],
      conflicts: [{ userId: 'young', heldBy: 'nfc' }],
    });
  });

  it('gives a key freed by a move to the oldest account that wants it', () => {
    // x holds the key o and y want, and moves off it; o is older than y.
    const plan = planEmailKeys(
      [row('o', 'A@x.io', 'legacy-o', 1), row('x', 'b@x.io', 'a@x.io', 2), row('y', 'a@X.io', 'legacy-y', 3)],
      new Map([['a@x.io', 'x']]),
    );
    expect(plan).toEqual({
      moves: [
        { id: 'x', key: 'b@x.io' },
        { id: 'o', key: 'a@x.io' },
      ],
      conflicts: [{ userId: 'y', heldBy: 'o' }],
    });
  });
});
