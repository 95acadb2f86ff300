/**
 * The README section bench/run.js writes after a run (`renderResults`, a pure function): one
 * table row per benchmark row with its figure, baseline ratio, target and verdict; a partial run
 * replaces only its benchmarks' rows; the hand-written text around the markers is left alone.
 */
import { createRequire } from 'node:module';

interface Row {
  label: string;
  opsPerSecond?: number;
  unit?: string;
  summary?: string;
  compare?: { to: string; ratio: number; atLeast?: number };
  atLeast?: number;
  atMost?: number;
  p99?: { ms: number; atMost?: number };
}
type Run = { name: string; date: Date; machine: string; load: [number, number] } & ({ rows: Row[] } | { error: string });
interface RunModule {
  RESULTS_START: string;
  RESULTS_END: string;
  renderResults(readme: string, runs: Run[], options: { full: boolean; command: string }): string;
}

// bench/ is plain CommonJS run by node, outside the TypeScript build: loaded as node would.
const { RESULTS_START, RESULTS_END, renderResults } = createRequire(__filename)('../../bench/run.js') as RunModule;

const machine = '2× AMD EPYC, node v20.20.2';
const README = `# Benchmarks\n\nHand-written intro.\n\n## tokens\n\nExplanations stay.\n`;

const tokensRun = (date: Date, mintRatio: number): Run => ({
  name: 'tokens',
  date,
  machine,
  load: [3.21, 4.12],
  rows: [
    { label: 'raw sign', opsPerSecond: 1387.4 },
    { label: 'mintHandoff', opsPerSecond: 1333, compare: { to: 'raw sign', ratio: mintRatio, atLeast: 0.95 } },
  ],
});

const revocationRun = (date: Date): Run => ({
  name: 'revocation',
  date,
  machine,
  load: [1, 2],
  rows: [{ label: 'revoke → last site', summary: 'p50 16.3 ms, p99 35.5 ms, max 40.5 ms', p99: { ms: 35.5, atMost: 1000 } }],
});

/** The table lines of the results section. */
function tableOf(readme: string): string[] {
  const section = readme.slice(readme.indexOf(RESULTS_START), readme.indexOf(RESULTS_END));
  return section.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| benchmark |'));
}

describe('bench/run.js README results section', () => {
  const first = new Date('2026-11-22T20:00:00Z');
  const later = new Date('2026-11-23T09:30:00Z');

  it('appends the section with every row, its figure, ratio, target and verdict, keeping the hand-written text', () => {
    const written = renderResults(README, [revocationRun(first), tokensRun(first, 0.969)], { full: true, command: 'node bench/run.js' });
    expect(written.startsWith(README)).toBe(true);
    expect(tableOf(written)).toEqual([
      '| revocation | revoke → last site | p50 16.3 ms, p99 35.5 ms, max 40.5 ms | — | p99 ≤ 1000 ms | PASS | 2026-11-22 20:00 UTC, 2× AMD EPYC, node v20.20.2, load 1.0→2.0 |',
      '| tokens | raw sign | 1,387 ops/s | — | — | — | 2026-11-22 20:00 UTC, 2× AMD EPYC, node v20.20.2, load 3.2→4.1 |',
      '| tokens | mintHandoff | 1,333 ops/s | 0.969 × raw sign | ≥ 0.95 × raw sign | PASS |  |',
    ]);
    expect(written).toContain('Last run: `node bench/run.js`, 2026-11-22.');
  });

  it('a partial run replaces only its benchmarks rows; the others keep theirs, with their date', () => {
    const full = renderResults(README, [revocationRun(first), tokensRun(first, 0.969)], { full: true, command: 'node bench/run.js' });
    const partial = renderResults(full, [tokensRun(later, 0.946)], { full: false, command: 'node bench/run.js tokens' });
    expect(tableOf(partial)).toEqual([
      tableOf(full)[0],
      '| tokens | raw sign | 1,387 ops/s | — | — | — | 2026-11-23 09:30 UTC, 2× AMD EPYC, node v20.20.2, load 3.2→4.1 |',
      '| tokens | mintHandoff | 1,333 ops/s | 0.946 × raw sign | ≥ 0.95 × raw sign | **FAIL** |  |',
    ]);
    expect(partial).toContain('Last run: `node bench/run.js tokens`, 2026-11-23.');
    // Everything outside the markers is byte for byte what it was.
    const outside = (text: string) => text.slice(0, text.indexOf(RESULTS_START)) + text.slice(text.indexOf(RESULTS_END));
    expect(outside(partial)).toBe(outside(full));
  });

  it('a full run drops the rows of benchmarks it did not run; a run that failed is a FAIL row', () => {
    const full = renderResults(README, [revocationRun(first), tokensRun(first, 0.969)], { full: true, command: 'node bench/run.js' });
    const failed: Run = { name: 'tokens', date: later, machine, load: [5, 6], error: 'dist/ is stale | rebuild' };
    expect(tableOf(renderResults(full, [failed], { full: true, command: 'node bench/run.js' }))).toEqual([
      '| tokens | the benchmark ran | failed to run: dist/ is stale \\| rebuild | — | ran | **FAIL** | 2026-11-23 09:30 UTC, 2× AMD EPYC, node v20.20.2, load 5.0→6.0 |',
    ]);
  });

  it('absolute ceilings and floors on figures that are not rates', () => {
    const run: Run = {
      name: 'memory',
      date: first,
      machine,
      load: [1, 1],
      rows: [
        { label: 'per session', opsPerSecond: 2453.6, unit: 'B', atMost: 1024 },
        { label: 'peak RSS', opsPerSecond: 112.96, unit: 'MiB', atMost: 150 },
        { label: 'reads', opsPerSecond: 9000, unit: 'req/s', atLeast: 10000, p99: { ms: 0.8, atMost: 1 } },
      ],
    };
    expect(tableOf(renderResults(README, [run], { full: true, command: 'node bench/run.js memory' })).map((line) => line.split(' | ').slice(2, 6))).toEqual([
      ['2,454 B', '—', '≤ 1,024 B', '**FAIL**'],
      ['113 MiB', '—', '≤ 150 MiB', 'PASS'],
      ['9,000 req/s, p99 0.8 ms', '—', '≥ 10,000 req/s; p99 ≤ 1 ms', '**FAIL**'],
    ]);
  });
});
