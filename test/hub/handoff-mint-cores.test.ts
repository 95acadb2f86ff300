/**
 * `mintBeacons` signs several tokens on libuv's thread pool only when the process can use more
 * than one core, counted by src/cpu-cores.ts (CPU affinity capped by the cgroup CPU quota): a hub
 * in `docker run --cpus=1` on a many-core host signs inline. The decision is made when
 * src/hub/handoff/mint.ts loads, so each case loads it afresh over a stated core count; the two
 * signing paths are stand-ins that say which one made each token.
 */
import type { Site } from '../../src/config/schema';
import type { UsableCores } from '../../src/cpu-cores';
import type { HubDeps } from '../../src/hub/deps';
import type * as Mint from '../../src/hub/handoff/mint';
import type { SessionHolder } from '../../src/hub/handoff/mint';
import type { SessionRecord } from '../../src/ports';

type MintBeacons = typeof Mint.mintBeacons;

/** `mintBeacons` from a mint.ts loaded in a process that can use `usable`. */
function mintBeaconsWith(usable: UsableCores): MintBeacons {
  let mintBeacons: MintBeacons | undefined;
  jest.isolateModules(() => {
    jest.doMock('../../src/cpu-cores', () => ({ ...jest.requireActual('../../src/cpu-cores'), usableCores: () => usable }));
    jest.doMock('../../src/core/tokens/handoff', () => ({
      ...jest.requireActual('../../src/core/tokens/handoff'),
      mintHandoff: (_signer: unknown, input: { audience: string }) => `inline-${new URL(input.audience).hostname}`,
      mintHandoffAsync: async (_signer: unknown, input: { audience: string }) => `pool-${new URL(input.audience).hostname}`,
    }));
    // A fresh mint.ts in this isolated registry, so that it decides over the mocks above.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ({ mintBeacons } = require('../../src/hub/handoff/mint') as typeof Mint);
  });
  return mintBeacons!;
}

const site = (origin: string): Site => ({ origin, receiverPath: '/shared-session/', beacon: 'script', claims: [] }) as unknown as Site;
const sites = [site('https://shop.example.net'), site('https://www.example.org')];
const deps = { config: { publicUrl: 'https://hub.example.com', tokens: { ttlSeconds: 30 } }, clock: { now: () => 0 } } as unknown as HubDeps;
const holder: SessionHolder = { record: { sid: 'sid' } as SessionRecord, user: null };

afterEach(() => jest.resetModules());

describe('mintBeacons: inline or on the thread pool', () => {
  it('signs inline under a one-CPU quota, whatever the affinity (docker run --cpus=1 on two cores)', async () => {
    const beacons = await mintBeaconsWith({ cores: 1, affinity: 2, cpuQuota: 1 })(deps, sites, holder, 'hub.example.com');
    expect(beacons.map((beacon) => beacon.url)).toEqual(['https://shop.example.net/shared-session/inline-shop.example.net.js', 'https://www.example.org/shared-session/inline-www.example.org.js']);
  });

  it('signs on the thread pool when the process can use two cores', async () => {
    const beacons = await mintBeaconsWith({ cores: 2, affinity: 8, cpuQuota: 2 })(deps, sites, holder, 'hub.example.com');
    expect(beacons.map((beacon) => beacon.url)).toEqual(['https://shop.example.net/shared-session/pool-shop.example.net.js', 'https://www.example.org/shared-session/pool-www.example.org.js']);
  });

  it('signs a single token inline even with cores to spare', async () => {
    const beacons = await mintBeaconsWith({ cores: 2, affinity: 2, cpuQuota: null })(deps, sites.slice(0, 1), holder, 'hub.example.com');
    expect(beacons.map((beacon) => beacon.url)).toEqual(['https://shop.example.net/shared-session/inline-shop.example.net.js']);
  });
});
