import { FrozenClock } from '../../src/core/clock';
import { MemoryReplayStore } from '../../src/stores/memory/replay-store';
import { MemorySessionStore } from '../../src/stores/memory/session-store';
import { replayStoreContract } from '../contract/replay-store.contract';
import { makeSession, sessionStoreContract } from '../contract/session-store.contract';

const start = Date.UTC(2026, 0, 15, 9, 30, 0);

sessionStoreContract('memory', async () => {
  const clock = new FrozenClock(start);
  const replay = new MemoryReplayStore({ clock });
  return { store: new MemorySessionStore({ clock, replay }), replay, clock, cleanup: async () => undefined };
});

replayStoreContract(
  'memory',
  async () => {
    const clock = new FrozenClock(start);
    return { store: new MemoryReplayStore({ clock }), clock, cleanup: async () => undefined };
  },
  { afterExpiry: 'forgotten' },
);

describe('MemorySessionStore', () => {
  it('hands out copies: changing a returned record does not change the store', async () => {
    const clock = new FrozenClock(start);
    const store = new MemorySessionStore({ clock });
    const record = makeSession(start / 1000, { sid: 'sid-copy', data: { basket: ['a'] } });
    await store.create(record);
    (record.data.basket as string[]).push('from-caller');
    const read = await store.get('sid-copy');
    (read?.data.basket as string[]).push('from-reader');
    expect((await store.get('sid-copy'))?.data).toEqual({ basket: ['a'] });
  });

  it('purgeExpired also forgets expired jtis of its replay store', async () => {
    const clock = new FrozenClock(start);
    const replay = new MemoryReplayStore({ clock });
    const store = new MemorySessionStore({ clock, replay });
    await replay.rememberOnce('jti-1', start / 1000 + 30);
    clock.advance(30_000);
    expect(await store.purgeExpired()).toBe(1);
    expect(await replay.purgeExpired()).toBe(0);
  });
});
