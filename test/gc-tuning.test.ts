/**
 * tuneGarbageCollector, which `tessera serve`, the demo and the benchmark servers call first: it
 * limits the old generation's growth, and on one core keeps the collector on the main thread
 * with a small young generation (see src/gc-tuning.ts for why), unless node's own command line
 * already chose; "one core" counts a cgroup CPU quota as well as the CPU affinity
 * (src/cpu-cores.ts); and the flags it sets at run time must not abort the process (some V8
 * flags do: `--single-threaded-gc` in Node 20).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { constants } from 'node:perf_hooks';
import v8 from 'node:v8';
import * as cpuCores from '../src/cpu-cores';
import { heapGrowingPercent, oneCoreFlags, tuneGarbageCollector } from '../src/gc-tuning';

const growth = `--heap-growing-percent=${heapGrowingPercent}`;

describe('tuneGarbageCollector', () => {
  let setFlags: jest.SpyInstance;
  beforeEach(() => {
    // Recorded, not applied: this jest worker's garbage collector is not the subject.
    setFlags = jest.spyOn(v8, 'setFlagsFromString').mockImplementation(() => undefined);
  });
  afterEach(() => setFlags.mockRestore());

  it('limits the heap growth only, with two or more cores', () => {
    expect(tuneGarbageCollector(['--enable-source-maps', '--max-old-space-size=512'], 2)).toEqual([growth]);
    expect(setFlags.mock.calls).toEqual([[growth]]);
  });

  it('keeps the collector on the main thread and the young generation small on one core', () => {
    expect(tuneGarbageCollector([], 1)).toEqual([growth, ...oneCoreFlags]);
    expect(setFlags.mock.calls).toEqual([[growth], ...oneCoreFlags.map((flag) => [flag])]);
    expect(oneCoreFlags).toEqual(expect.arrayContaining(['--no-parallel-scavenge', '--no-concurrent-marking', '--semi-space-growth-factor=1']));
  });

  it.each([
    ['a one-CPU quota on two cores (docker run --cpus=1)', { cores: 1, affinity: 2, cpuQuota: 1 }, [growth, ...oneCoreFlags]],
    ['one core by affinity (taskset)', { cores: 1, affinity: 1, cpuQuota: null }, [growth, ...oneCoreFlags]],
    ['two cores and no quota', { cores: 2, affinity: 2, cpuQuota: null }, [growth]],
    ['a two-CPU quota on eight cores', { cores: 2, affinity: 8, cpuQuota: 2 }, [growth]],
  ])('counts the cores this process can use by default: %s', (_what, usable, expected) => {
    const cores = jest.spyOn(cpuCores, 'usableCores').mockReturnValue(usable);
    try {
      expect(tuneGarbageCollector([])).toEqual(expected);
      expect(setFlags.mock.calls).toEqual(expected.map((flag) => [flag]));
    } finally {
      cores.mockRestore();
    }
  });

  it.each([[['--heap-growing-percent=0']], [['--heap_growing_percent=300']], [['--heap-growing-percent', '0']]])('keeps the command line’s own growth %j', (execArgv) => {
    expect(tuneGarbageCollector(execArgv, 1)).toEqual([...oneCoreFlags]);
    expect(setFlags.mock.calls).not.toContainEqual([growth]);
  });

  it.each([[['--single-threaded-gc']], [['--parallel-scavenge']], [['--no-concurrent-marking']], [['--max-semi-space-size=64']], [['--v8-pool-size=0']], [['--semi_space_growth_factor=2']]])(
    'keeps the command line’s own collector %j on one core',
    (execArgv) => {
      expect(tuneGarbageCollector(execArgv, 1)).toEqual([growth]);
      expect(setFlags).toHaveBeenCalledTimes(1);
    },
  );

  it.each([['--max-semi-space-size=64'], ['--enable-source-maps  --v8-pool-size=0']])('keeps a collector chosen in NODE_OPTIONS (%s), which process.execArgv does not list, on one core', (nodeOptions) => {
    const saved = process.env.NODE_OPTIONS;
    process.env.NODE_OPTIONS = nodeOptions;
    try {
      expect(tuneGarbageCollector(undefined, 1)).toEqual([growth]);
      expect(setFlags.mock.calls).toEqual([[growth]]);
    } finally {
      if (saved === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = saved;
    }
  });

  it('sets flags a running process survives: scavenges and full collections after them, in a real node', () => {
    // A child process, since this one's collector stays as it is. It applies the one-core set,
    // then allocates enough to run many scavenges and, with objects kept for a while, full
    // collections; an abort (as `--single-threaded-gc` set at run time causes) fails it.
    const script = `
      const { tuneGarbageCollector } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'gc-tuning.js'))});
      const set = tuneGarbageCollector([], 1);
      const { PerformanceObserver } = require('node:perf_hooks');
      const kinds = new Set();
      new PerformanceObserver((list) => { for (const e of list.getEntries()) kinds.add(e.detail.kind); }).observe({ entryTypes: ['gc'] });
      let kept = [];
      for (let i = 0; i < 4e6; i += 1) { kept.push({ i, s: 'x' + i }); if (kept.length > 3e5) kept = []; }
      setTimeout(() => { console.log(JSON.stringify({ set, kinds: [...kinds], newSpace: require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size })); }, 50);
    `;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(0);
    const out = JSON.parse(result.stdout) as { set: string[]; kinds: number[]; newSpace: number };
    expect(out.set).toEqual([growth, ...oneCoreFlags]);
    expect(out.kinds).toEqual(expect.arrayContaining([constants.NODE_PERFORMANCE_GC_MINOR, constants.NODE_PERFORMANCE_GC_MAJOR]));
    // The young generation stayed at its starting size (two 1 MiB semi-spaces), not V8's 2 × 16 MiB.
    expect(out.newSpace).toBeLessThanOrEqual(4 * 1024 * 1024);
  });
});
