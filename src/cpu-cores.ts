/**
 * How many cores a hub process can use, for the choices that depend on having more than one:
 * the garbage collector's threads (src/gc-tuning.ts) and signing several handoff tokens on
 * libuv's thread pool (src/hub/handoff/mint.ts). Logged at start-up by `tessera serve`.
 *
 * `os.availableParallelism()` follows the CPU affinity (`taskset`, a container's cpuset) but, in
 * Node 20, not a cgroup CPU quota — what `docker run --cpus=1` and a Kubernetes CPU limit set: such
 * a process sees every core of its host while the kernel lets it run for one CPU's worth of time
 * per period. So the quota is read here, from cgroup v2's `cpu.max` or cgroup v1's
 * `cpu.cfs_quota_us` / `cpu.cfs_period_us`, and caps the affinity.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Reads a file's text, or gives undefined when it cannot be read (missing, not allowed). */
export type CgroupFileReader = (path: string) => string | undefined;

/** The cores this process can use and what decided it. */
export interface UsableCores {
  /** The cores for "is there more than one": {@link coresFor} of the two below. */
  cores: number;
  /** The cores its CPU affinity allows (`os.availableParallelism()`). */
  affinity: number;
  /** The CPUs its cgroup quota allows per period (1.5 for 150 ms every 100 ms), null for none. */
  cpuQuota: number | null;
}

/** cgroup v2's unified hierarchy, and v1's cpu controller, where Docker, Kubernetes and systemd mount them. */
const v2Root = '/sys/fs/cgroup';
const v1CpuRoot = '/sys/fs/cgroup/cpu';

/** The files of /proc and /sys; anything that cannot be read is "no such file". */
const readSystemFile: CgroupFileReader = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** A whole number of microseconds as the kernel writes it, or null. */
function microseconds(text: string | undefined): number | null {
  const trimmed = text?.trim();
  return trimmed !== undefined && /^\d{1,18}$/.test(trimmed) && Number(trimmed) > 0 ? Number(trimmed) : null;
}

/** CPUs from cgroup v2's `cpu.max` ("150000 100000"; "max 100000" is no limit), or null. */
function parseCpuMax(text: string | undefined): number | null {
  const fields = /^(\S+) (\S+)$/.exec(text?.trim() ?? '');
  if (fields === null || fields[1] === 'max') return null;
  const quota = microseconds(fields[1]);
  const period = microseconds(fields[2]);
  return quota === null || period === null ? null : quota / period;
}

/** CPUs from cgroup v1's `cpu.cfs_quota_us` ("-1" is no limit) and `cpu.cfs_period_us`, or null. */
function parseCfs(quotaText: string | undefined, periodText: string | undefined): number | null {
  const quota = microseconds(quotaText);
  const period = microseconds(periodText);
  return quota === null || period === null ? null : quota / period;
}

/**
 * The process's cgroup and each of its ancestors, as directories under `root` (`root` itself
 * last), for the hierarchy that /proc/self/cgroup names with `matches`. Each level's quota binds
 * the ones below it, so all count. Docker on cgroup v1 names the host's path (`/docker/<id>`) but
 * mounts the container's own cgroup at the root: missing directories are passed over, and the
 * root is always read.
 */
function cgroupDirectories(procSelfCgroup: string, root: string, matches: (controllers: string) => boolean): string[] {
  const line = procSelfCgroup.split('\n').find((entry) => matches(entry.split(':')[1] ?? '\0'));
  const path = line?.split(':').slice(2).join(':') ?? '/';
  const parts = path.split('/').filter((part) => part !== '' && part !== '.' && part !== '..');
  return parts.map((_, i) => `${root}/${parts.slice(0, parts.length - i).join('/')}`).concat(root);
}

/**
 * The CPUs this process's cgroup may use per period — the smallest quota of its cgroup and its
 * ancestors, cgroup v2 or v1 — or null when there is none. Files that are missing, unreadable or
 * not as the kernel writes them mean "no quota": this runs at start-up and must never stop it.
 *
 * @param read how a file is read (the real files by default; tests give their own).
 * @example
 * cgroupCpuQuota(); // 1 in `docker run --cpus=1`, null on a host without a limit
 */
export function cgroupCpuQuota(read: CgroupFileReader = readSystemFile): number | null {
  try {
    const procSelfCgroup = read('/proc/self/cgroup') ?? '';
    const quotas = [
      ...cgroupDirectories(procSelfCgroup, v2Root, (controllers) => controllers === '').map((dir) => parseCpuMax(read(`${dir}/cpu.max`))),
      ...cgroupDirectories(procSelfCgroup, v1CpuRoot, (controllers) => controllers.split(',').includes('cpu')).map((dir) =>
        parseCfs(read(`${dir}/cpu.cfs_quota_us`), read(`${dir}/cpu.cfs_period_us`)),
      ),
    ].filter((quota): quota is number => quota !== null);
    return quotas.length === 0 ? null : Math.min(...quotas);
  } catch {
    return null;
  }
}

/**
 * The cores a process with `affinity` cores under a quota of `cpuQuota` CPUs can use: the
 * affinity, capped by the quota rounded to the nearest whole CPU, and at least one. A quota of
 * one CPU or less is one core; from 1.5 CPUs on, two.
 *
 * Why rounded, not rounded up: what is decided is whether threads beside the main one (V8's
 * collector helpers, the thread pool signing tokens) get CPU time of their own. Under a quota
 * they get what the main thread leaves: with the main thread busy, a quota of q CPUs leaves them
 * q − 1. Once the process has spent its quota the kernel stops every thread, the main one too,
 * until the period ends (100 ms by default): a longer pause than the 4–25 ms the main thread
 * waited for the helpers on one core (src/gc-tuning.ts). With the one-core settings the
 * collector and the signatures stay on the main thread, so the process uses little more than
 * the one CPU a thread can, and a quota of one CPU or more rarely stops it. With half a CPU or
 * more to spare, a busy main thread leaves the helpers 50 ms or more of every 100 ms period, room
 * for their scavenges, concurrent marking and a loader's few signatures (on two cores the thread
 * pool served 1.7 times the cold loaders, bench/README.md); with less, they would spend the
 * quota and stop the process more often than they spare it a pause. The threshold is reasoned,
 * not measured: the benchmarks pin cores with `taskset` rather than set quotas.
 *
 * @example
 * coresFor(8, 1); // 1
 * coresFor(8, 1.5); // 2
 * coresFor(2, null); // 2
 */
export function coresFor(affinity: number, cpuQuota: number | null): number {
  if (cpuQuota === null) return affinity;
  return Math.max(1, Math.min(affinity, Math.round(cpuQuota)));
}

/**
 * The {@link UsableCores} of a process with `affinity` cores whose cgroup files `read` gives,
 * read now. Use {@link usableCores} for this process.
 */
export function readUsableCores(read: CgroupFileReader = readSystemFile, affinity: number = os.availableParallelism()): UsableCores {
  const cpuQuota = cgroupCpuQuota(read);
  return { cores: coresFor(affinity, cpuQuota), affinity, cpuQuota };
}

let thisProcess: UsableCores | undefined;

/**
 * This process's {@link UsableCores}, read once: the hub decides at start-up (src/hub/handoff/mint.ts
 * when it loads), and a quota changed afterwards is not followed.
 *
 * @example
 * usableCores(); // { cores: 1, affinity: 8, cpuQuota: 1 } in `docker run --cpus=1` on eight cores
 */
export function usableCores(): UsableCores {
  thisProcess ??= readUsableCores();
  return thisProcess;
}
