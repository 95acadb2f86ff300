// Runs Tessera's benchmarks against the compiled dist/ (`npm run bench` builds first).
//
//   node bench/run.js                 every benchmark
//   node bench/run.js tokens          only bench/tokens.js
//   node bench/run.js http-account    only bench/http-account.js
//
// A benchmark is any other .js file in bench/ that exports
//   { title: string, run: async () => ({ context: string, rows: Row[] }) }
// (files exporting no `run`, such as bench/http-harness.js, are helpers). A Row is
//   { label, opsPerSecond?, unit?, summary?, note? } where `opsPerSecond` is the row's figure in
//   `unit` (default 'ops/s'; a figure that is not a rate names its unit: 'B', 'MiB', 'ms'),
//   `summary` a few words printed beside it and shown in the README table (p50/p99/max, say),
//   `note` the details printed under it; and, for a target,
//   compare: { to: <label of the baseline row>, ratio: <measured ratio>, atLeast?: <minimum> }
//     (the benchmark computes the ratio itself, e.g. as a median of per-round ratios);
//   atLeast: <minimum opsPerSecond>, for an absolute target;
//   atMost: <maximum opsPerSecond>, for an absolute ceiling (memory, say);
//   p99: { ms: <measured 99th percentile latency>, atMost?: <maximum> }.
// A row without `atLeast` / `atMost` is for reference and has no target.
// Dropping a file here registers it; this runner prints every row, the ratios and PASS/FAIL,
// and exits with status 1 when a target is missed.
//
// It also writes the results into bench/README.md, between the markers RESULTS_START and
// RESULTS_END below: one table row per benchmark row (figure, ratio to its baseline, target,
// PASS/FAIL) with the date, machine and load average of its run. A run of some benchmarks
// replaces only their rows and keeps the others with their own dates; a run of all of them
// also drops rows of benchmarks that no longer exist. Everything outside the markers is
// hand-written and left alone. BENCH_NO_README=1 leaves the README untouched.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const README = path.join(__dirname, 'README.md');
const RESULTS_START = '<!-- bench:results:start -->';
const RESULTS_END = '<!-- bench:results:end -->';

function discover(selected) {
  const names = fs
    .readdirSync(__dirname)
    .filter((file) => file.endsWith('.js') && file !== 'run.js')
    .map((file) => file.slice(0, -'.js'.length))
    .filter((name) => typeof require(path.join(__dirname, `${name}.js`)).run === 'function')
    .sort();
  const unknown = selected.filter((name) => !names.includes(name));
  if (unknown.length > 0) throw new Error(`no benchmark named ${unknown.join(', ')} (have: ${names.join(', ')})`);
  return selected.length > 0 ? selected : names;
}

/** A figure in its unit: whole numbers from 100 up, three significant digits below. */
function formatValue(value, unit = 'ops/s') {
  const number = Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : String(Number(value.toPrecision(3)));
  return `${number} ${unit}`;
}

/** A row's targets, each { target, pass }: what PASS/FAIL is printed for. */
function targetsOf(row) {
  const targets = [];
  if (row.atLeast !== undefined) targets.push({ target: `≥ ${formatValue(row.atLeast, row.unit)}`, pass: row.opsPerSecond >= row.atLeast });
  if (row.atMost !== undefined) targets.push({ target: `≤ ${formatValue(row.atMost, row.unit)}`, pass: row.opsPerSecond <= row.atMost });
  if (row.compare?.atLeast !== undefined) targets.push({ target: `≥ ${row.compare.atLeast} × ${row.compare.to}`, pass: row.compare.ratio >= row.compare.atLeast });
  if (row.p99?.atMost !== undefined) targets.push({ target: `p99 ≤ ${row.p99.atMost} ms`, pass: row.p99.ms <= row.p99.atMost });
  return targets;
}

/** Prints one benchmark's rows; returns its targets as { label, target, pass }. */
function report(name, title, result) {
  console.log(`\n${name}: ${title}`);
  console.log(`  ${result.context}`);
  const width = Math.max(...result.rows.map((row) => row.label.length));
  const targets = [];
  for (const row of result.rows) {
    let line = `  ${row.label.padEnd(width)}  ${(row.opsPerSecond === undefined ? '' : formatValue(row.opsPerSecond, row.unit)).padStart(14)}`;
    if (row.compare) line += `  ${row.compare.ratio.toFixed(3)} × ${row.compare.to}`;
    // A summary says more than the bare p99 (p50 and max beside it, say).
    if (row.summary) line += `  ${row.summary}`;
    else if (row.p99) line += `  p99 ${row.p99.ms} ms`;
    for (const { target, pass } of targetsOf(row)) {
      targets.push({ label: row.label, target, pass });
      line += ` (target ${target})  ${pass ? 'PASS' : 'FAIL'}`;
    }
    console.log(line);
    if (row.note) console.log(`  ${' '.repeat(width)}  ${row.note}`);
  }
  return targets;
}

/** A table cell: no line breaks, pipes escaped. */
function cell(text) {
  return String(text).replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

/**
 * The table lines of one benchmark's run. `run` is { name, rows } or { name, error }, with
 * `date` (a Date), `machine` and `load` ([1-minute load average at its start, at its end]).
 */
function tableLines(run) {
  const when = `${run.date.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${run.machine}, load ${run.load.map((n) => n.toFixed(1)).join('→')}`;
  if (run.error !== undefined) return [`| ${cell(run.name)} | the benchmark ran | failed to run: ${cell(run.error)} | — | ran | **FAIL** | ${cell(when)} |`];
  return run.rows.map((row, i) => {
    const figure = [row.opsPerSecond === undefined ? null : formatValue(row.opsPerSecond, row.unit), row.summary ?? (row.p99 ? `p99 ${row.p99.ms} ms` : null)].filter((part) => part !== null).join(', ');
    const baseline = row.compare ? `${row.compare.ratio.toFixed(3)} × ${row.compare.to}` : '—';
    const targets = targetsOf(row);
    const result = targets.length === 0 ? '—' : targets.every((t) => t.pass) ? 'PASS' : '**FAIL**';
    const target = targets.length === 0 ? '—' : targets.map((t) => t.target).join('; ');
    return `| ${cell(run.name)} | ${cell(row.label)} | ${cell(figure || '—')} | ${cell(baseline)} | ${cell(target)} | ${result} | ${i === 0 ? cell(when) : ''} |`;
  });
}

/** The benchmark name of a table line written by tableLines, or null for other lines. */
function benchmarkOf(line) {
  const match = /^\| ((?:[^|\\]|\\.)+?) \| /.exec(line);
  return match === null || match[1] === 'benchmark' ? null : match[1];
}

/**
 * `readme` with its results section rewritten for `runs` (see tableLines). Rows of benchmarks
 * that did not run are kept as they were, unless `full` (every benchmark ran): then only the
 * new rows remain. Without the markers, the section is appended at the end. Pure: the caller
 * reads and writes the file.
 */
function renderResults(readme, runs, { full, command }) {
  const start = readme.indexOf(RESULTS_START);
  const end = readme.indexOf(RESULTS_END);
  const hasSection = start !== -1 && end > start;
  const kept = new Map();
  if (hasSection && !full) {
    for (const line of readme.slice(start, end).split('\n')) {
      const name = benchmarkOf(line);
      if (name === null) continue;
      if (!kept.has(name)) kept.set(name, []);
      kept.get(name).push(line);
    }
  }
  for (const run of runs) kept.set(run.name, tableLines(run));
  const lines = [...kept.keys()].sort().flatMap((name) => kept.get(name));
  const latest = runs[runs.length - 1];
  const section = [
    RESULTS_START,
    '<!-- Written by bench/run.js after every run: edit outside these markers. -->',
    '',
    `Last run: \`${command}\`, ${latest ? latest.date.toISOString().slice(0, 10) : 'no benchmark'}. Rows of benchmarks it did not run keep the date of their own run; load is the 1-minute load average at the start and at the end of each benchmark. Details of each row (spread over rounds, CPU time per request) are in the console output; what they mean is in the sections below.`,
    '',
    '| benchmark | row | figure | vs baseline | target | result | run |',
    '|---|---|---|---|---|---|---|',
    ...lines,
    RESULTS_END,
  ].join('\n');
  if (hasSection) return readme.slice(0, start) + section + readme.slice(end + RESULTS_END.length);
  return `${readme.replace(/\n*$/, '\n')}\n## Results of the last runs\n\n${section}\n`;
}

function machine() {
  const cpus = os.cpus();
  return `${cpus.length}× ${cpus[0].model.replace(/\s+/g, ' ').trim()}, node ${process.version}`;
}

async function main() {
  if (!fs.existsSync(path.join(__dirname, '..', 'dist'))) {
    throw new Error('dist/ is missing: run `npm run build` first (or `npm run bench`, which does)');
  }
  console.log(`node ${process.version} on ${os.cpus()[0].model}`);
  const selected = process.argv.slice(2);
  const names = discover(selected);
  const summary = [];
  const runs = [];
  for (const name of names) {
    const bench = require(path.join(__dirname, `${name}.js`));
    const started = { date: new Date(), load: os.loadavg()[0] };
    const finished = (outcome) => runs.push({ name, date: started.date, machine: machine(), load: [started.load, os.loadavg()[0]], ...outcome });
    try {
      const result = await bench.run();
      for (const target of report(name, bench.title, result)) summary.push({ name, ...target });
      finished({ rows: result.rows });
    } catch (err) {
      // One broken benchmark (e.g. code it measures not built yet) must not hide the others.
      const message = err instanceof Error ? err.message : String(err);
      console.log(`\n${name}: ${bench.title}\n  FAILED TO RUN: ${message}`);
      summary.push({ name, label: 'the benchmark ran', target: '', pass: false });
      finished({ error: message });
    }
  }
  console.log('\nsummary');
  for (const { name, label, target, pass } of summary) console.log(`  ${pass ? 'PASS' : 'FAIL'}  ${name}: ${label}${target ? ` ${target}` : ''}`);
  const missed = summary.filter((target) => !target.pass).length;
  console.log(missed > 0 ? `${missed} of ${summary.length} target(s) missed` : `all ${summary.length} targets met`);
  if (missed > 0) process.exitCode = 1;
  if (process.env.BENCH_NO_README !== '1') {
    // Read just before writing: the hand-written sections may have changed during the run.
    const command = `node bench/run.js${selected.length > 0 ? ` ${selected.join(' ')}` : ''}`;
    fs.writeFileSync(README, renderResults(fs.readFileSync(README, 'utf8'), runs, { full: selected.length === 0, command }));
    console.log(`results written to ${path.relative(process.cwd(), README)}`);
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}

module.exports = { RESULTS_END, RESULTS_START, formatValue, renderResults, targetsOf };
