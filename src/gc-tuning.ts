/**
 * V8 garbage-collector settings for a process that serves the hub (`tessera serve`, the demo),
 * made at run time by {@link tuneGarbageCollector}. Never applied by `startHub`: a library call
 * must not change its host's garbage collector. Measurements: bench/README.md ("http-hub-memory"
 * for the heap growth, "http-account" for the one-core collector).
 */
import v8 from 'node:v8';
import { usableCores } from './cpu-cores';

/**
 * How far V8 lets the old generation grow past what survived the last full collection, in
 * percent: it may double.
 *
 * Why: under load the hub's in-flight requests outlive young-generation collections, so their
 * garbage is promoted, and on a machine with a large heap limit V8 lets the old generation grow
 * to up to 4 times what survived before collecting it again. The hub keeps about 16 MiB live; its
 * resident size under load went from 90 MiB at rest to 138–177 MiB, with up to 80 MiB of old
 * generation, mostly garbage. Allowed to double at most, the old generation stays at 32–38 MiB
 * and the peak 25–35 MiB lower, at no CPU time per request this machine could measure.
 */
export const heapGrowingPercent = 100;

/**
 * The collector for a process that can use one core only (src/cpu-cores.ts: its CPU affinity, as
 * `taskset` or a container's cpuset sets it, capped by its cgroup CPU quota, as `docker run
 * --cpus=1` or a Kubernetes CPU limit sets it): everything on the main thread, and a young
 * generation kept at its initial size.
 *
 * Why: node starts four V8 helper threads whatever the core count, and by default V8 scavenges
 * in parallel and marks, sweeps and compacts concurrently on them. With one core those helpers
 * take turns with the main thread, which waits for them: scavenges held requests for 4–9 ms,
 * full collections with their incremental steps for up to 25 ms. Serving `/account` at a steady
 * 1,300 req/s on one pinned core (bench/README.md "http-account"), the median 99th percentile
 * over 8 rounds was 21.6 ms with V8's defaults, 6.6 ms with the first five flags and 5.2 ms with
 * the young generation kept at its starting size too (shorter, more frequent scavenges, ~2 ms
 * each), at the same CPU per request within 1–2 %. With a core or more to spare the parallel
 * collector wins, so it is left as V8 sets it.
 *
 * Only flags V8 reads at every collection are here: `--single-threaded-gc` (the same idea as a
 * launch flag) aborts the process when set at run time in Node 20, and `--max-semi-space-size`
 * set at run time changes nothing; a semi-space growth factor of 1 keeps the young generation at
 * the size it starts with. Until a worker thread starts: V8 raises a growth factor under 2 back
 * to 2 when it creates an isolate (measured in Node 20: the main thread's young generation then
 * grows to 2 × 16 MiB again). The hub starts none; a process that does loses that one setting.
 */
export const oneCoreFlags = [
  '--no-parallel-scavenge',
  '--no-concurrent-marking',
  '--no-parallel-compaction',
  '--no-concurrent-sweeping',
  '--no-parallel-pointer-update',
  '--semi-space-growth-factor=1',
] as const;

/**
 * Command-line flags that mean the operator chose the collector's threads or young generation:
 * then {@link oneCoreFlags} are not applied.
 */
const collectorChoices = /^--(?:no-)?(?:single[-_]threaded[-_]gc|parallel[-_]scavenge|concurrent[-_]marking|parallel[-_]compaction|concurrent[-_]sweeping|parallel[-_]pointer[-_]update|semi[-_]space[-_]growth[-_]factor|max[-_]semi[-_]space[-_]size|min[-_]semi[-_]space[-_]size|v8[-_]pool[-_]size)(?:=|$)/;

/**
 * node's own flags for this process: its command line and NODE_OPTIONS, which accepts a few of
 * the collector's (`--max-semi-space-size`, `--v8-pool-size`) and which `process.execArgv` does
 * not list. Split on blanks: enough to find a flag's name, as quoting only matters in values.
 */
function nodeFlags(execArgv: readonly string[] = process.execArgv, nodeOptions: string | undefined = process.env.NODE_OPTIONS): string[] {
  return [...execArgv, ...(nodeOptions ?? '').split(/\s+/).filter((arg) => arg !== '')];
}

/**
 * Sets the collector for a hub process, for the rest of its life: the old generation's growth
 * limited to {@link heapGrowingPercent}, and on one core the {@link oneCoreFlags}. Each is left
 * out when node's own flags ({@link nodeFlags}: its command line or NODE_OPTIONS) give one of its
 * kind (the operator's choice wins: `--heap-growing-percent=0` restores V8's own growth,
 * `--parallel-scavenge` and the like its threads, `--max-semi-space-size` its young generation).
 * These flags are read at every collection, so setting them at run time takes effect;
 * NODE_OPTIONS refuses most of them, so this is the one place that reaches every way of starting
 * the hub (the package bin, `node dist/cli/main.js serve`, the Docker image, `npm start`).
 *
 * @param execArgv node's flags ({@link nodeFlags} by default).
 * @param cores the cores this process can use (`usableCores()`, src/cpu-cores.ts: the CPU
 *   affinity capped by the cgroup CPU quota).
 * @returns the flags set.
 *
 * @example
 * tuneGarbageCollector(); // ['--heap-growing-percent=100'] on two or more cores
 */
export function tuneGarbageCollector(execArgv: readonly string[] = nodeFlags(), cores: number = usableCores().cores): string[] {
  const flags: string[] = [];
  if (!execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) flags.push(`--heap-growing-percent=${heapGrowingPercent}`);
  if (cores <= 1 && !execArgv.some((arg) => collectorChoices.test(arg))) flags.push(...oneCoreFlags);
  for (const flag of flags) v8.setFlagsFromString(flag);
  return flags;
}
