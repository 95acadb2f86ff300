/**
 * The cores a hub process can use (src/cpu-cores.ts): its CPU affinity
 * (`os.availableParallelism()`) capped by its cgroup's CPU quota, v2 (`cpu.max`) or v1
 * (`cpu.cfs_quota_us` / `cpu.cfs_period_us`), read through an injected reader so these tests
 * describe containers this machine is not in. Anything unreadable or garbled is "no quota".
 */
import { cgroupCpuQuota, coresFor, readUsableCores, usableCores, type CgroupFileReader } from '../src/cpu-cores';

/** A reader over `files` (path → contents); any other path cannot be read. */
function fakeCgroups(files: Record<string, string>): CgroupFileReader & { asked: string[] } {
  const asked: string[] = [];
  const read = (path: string): string | undefined => {
    asked.push(path);
    return files[path];
  };
  return Object.assign(read, { asked });
}

/** A process in its own cgroup namespace (a container): /proc/self/cgroup names the root. */
const v2Container = (cpuMax: string): CgroupFileReader => fakeCgroups({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': cpuMax });

const v1Container = (quota: string, period = '100000\n'): CgroupFileReader =>
  fakeCgroups({
    '/proc/self/cgroup': '12:pids:/\n4:cpu,cpuacct:/\n3:cpuset:/\n0::/\n',
    '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': quota,
    '/sys/fs/cgroup/cpu/cpu.cfs_period_us': period,
  });

describe('cgroupCpuQuota', () => {
  it.each([
    ['max 100000\n', null],
    ['100000 100000\n', 1],
    ['50000 100000\n', 0.5],
    ['150000 100000\n', 1.5],
    ['400000 100000\n', 4],
    ['200000 50000\n', 4],
  ])('reads cgroup v2 cpu.max %j as %p CPUs', (cpuMax, cpus) => {
    expect(cgroupCpuQuota(v2Container(cpuMax))).toBe(cpus);
  });

  it.each([
    ['-1\n', '100000\n', null],
    ['100000\n', '100000\n', 1],
    ['150000\n', '100000\n', 1.5],
    ['400000\n', '100000\n', 4],
  ])('reads cgroup v1 cfs_quota_us %j over cfs_period_us %j as %p CPUs', (quota, period, cpus) => {
    expect(cgroupCpuQuota(v1Container(quota, period))).toBe(cpus);
  });

  it('finds no quota where there are no cgroup files (another OS, /sys not mounted)', () => {
    const read = fakeCgroups({});
    expect(cgroupCpuQuota(read)).toBeNull();
    expect(read.asked).toContain('/sys/fs/cgroup/cpu.max');
    expect(read.asked).toContain('/sys/fs/cgroup/cpu/cpu.cfs_quota_us');
  });

  it.each([
    ['empty', ''],
    ['words', 'unlimited please'],
    ['a quota without its period', '150000'],
    ['a zero quota', '0 100000'],
    ['a negative quota', '-5 100000'],
    ['a zero period', '150000 0'],
    ['a fraction', '1.5 1'],
    ['trailing junk', '150000 100000 extra'],
    ['binary', '\u0000\u0001\u0002'],
  ])('finds no quota in a garbled cpu.max (%s)', (_what, cpuMax) => {
    expect(cgroupCpuQuota(v2Container(cpuMax))).toBeNull();
  });

  it.each([
    ['a quota with no period file', { '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '150000' }],
    ['garbage', { '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': 'lots', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }],
    ['a zero period', { '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '150000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '0' }],
  ])('finds no quota in cgroup v1 files with %s', (_what, files) => {
    expect(cgroupCpuQuota(fakeCgroups(files))).toBeNull();
  });

  it('never throws, even when the reader does', () => {
    expect(
      cgroupCpuQuota(() => {
        throw new Error('EACCES');
      }),
    ).toBeNull();
  });

  it('reads the process’s own cgroup and the tightest quota of its ancestors (a systemd CPUQuota= on the host)', () => {
    const read = fakeCgroups({
      '/proc/self/cgroup': '0::/system.slice/tessera.service\n',
      '/sys/fs/cgroup/system.slice/tessera.service/cpu.max': '300000 100000\n',
      '/sys/fs/cgroup/system.slice/cpu.max': '100000 100000\n',
      '/sys/fs/cgroup/cpu.max': 'max 100000\n',
    });
    expect(cgroupCpuQuota(read)).toBe(1);
  });

  it('reads the root of the cpu hierarchy when the named cgroup is not mounted there (Docker on cgroup v1 mounts the container’s own)', () => {
    const read = fakeCgroups({
      '/proc/self/cgroup': '4:cpu,cpuacct:/docker/0123abcd\n0::/\n',
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '100000\n',
      '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    });
    expect(cgroupCpuQuota(read)).toBe(1);
  });
});

describe('coresFor: the affinity capped by the quota', () => {
  it.each([
    [2, null, 2],
    [8, null, 8],
    [1, null, 1],
    [8, 0.5, 1],
    [8, 1, 1],
    [8, 1.2, 1],
    [8, 1.49, 1],
    [8, 1.5, 2],
    [8, 1.9, 2],
    [8, 4, 4],
    [2, 4, 2],
    [1, 1.5, 1],
  ])('affinity %p, quota %p CPUs: %p cores', (affinity, quota, cores) => {
    expect(coresFor(affinity, quota)).toBe(cores);
  });
});

describe('readUsableCores', () => {
  it('says one core for a two-core affinity under a one-CPU quota (docker run --cpus=1), and why', () => {
    expect(readUsableCores(v2Container('100000 100000\n'), 2)).toEqual({ cores: 1, affinity: 2, cpuQuota: 1 });
  });

  it('says the affinity when there is no quota', () => {
    expect(readUsableCores(v2Container('max 100000\n'), 4)).toEqual({ cores: 4, affinity: 4, cpuQuota: null });
    expect(readUsableCores(fakeCgroups({}), 2)).toEqual({ cores: 2, affinity: 2, cpuQuota: null });
  });
});

describe('usableCores', () => {
  it('is this process’s, read once', () => {
    const first = usableCores();
    expect(first.cores).toBeGreaterThanOrEqual(1);
    expect(first.cores).toBeLessThanOrEqual(first.affinity);
    expect(usableCores()).toBe(first);
  });
});
