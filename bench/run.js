// Runs Tessera's benchmarks against the compiled dist/ (`npm run bench` builds first).
//
//   node bench/run.js                 every benchmark
//   node bench/run.js tokens          only bench/tokens.js
//   node bench/run.js http-account    only bench/http-account.js
//
// A benchmark is any other .js file in bench/ that exports
//   { title: string, run: async () => ({ context: string, rows: Row[] }) }
// (files exporting no `run`, such as bench/http-harness.js, are helpers). A Row is
//   { label, opsPerSecond, unit?: 'ops/s' | 'req/s', note?: string } and, for a target,
//   compare: { to: <label of the baseline row>, ratio: <measured ratio>, atLeast?: <minimum> }
//     (the benchmark computes the ratio itself, e.g. as a median of per-round ratios);
//   atLeast: <minimum opsPerSecond>, for an absolute target;
//   p99: { ms: <measured 99th percentile latency>, atMost?: <maximum> }.
// A row without `atLeast` / `atMost` is for reference and has no target.
// Dropping a file here registers it; this runner prints every row, the ratios and PASS/FAIL,
// and exits with status 1 when a target is missed.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

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

function formatRate(opsPerSecond, unit = 'ops/s') {
  return `${Math.round(opsPerSecond).toLocaleString('en-US')} ${unit}`;
}

/** Prints one benchmark's rows; returns its targets as { label, target, pass }. */
function report(name, title, result) {
  console.log(`\n${name}: ${title}`);
  console.log(`  ${result.context}`);
  const width = Math.max(...result.rows.map((row) => row.label.length));
  const targets = [];
  const verdict = (label, target, pass) => {
    targets.push({ label, target, pass });
    return ` (target ${target})  ${pass ? 'PASS' : 'FAIL'}`;
  };
  for (const row of result.rows) {
    let line = `  ${row.label.padEnd(width)}  ${formatRate(row.opsPerSecond, row.unit).padStart(14)}`;
    if (row.atLeast !== undefined) line += verdict(row.label, `≥ ${formatRate(row.atLeast, row.unit)}`, row.opsPerSecond >= row.atLeast);
    if (row.compare) {
      const { ratio, to, atLeast } = row.compare;
      line += `  ${ratio.toFixed(3)} × ${to}`;
      if (atLeast !== undefined) line += verdict(row.label, `≥ ${atLeast} × ${to}`, ratio >= atLeast);
    }
    if (row.p99) {
      const { ms, atMost } = row.p99;
      line += `  p99 ${ms} ms`;
      if (atMost !== undefined) line += verdict(row.label, `p99 ≤ ${atMost} ms`, ms <= atMost);
    }
    console.log(line);
    if (row.note) console.log(`  ${' '.repeat(width)}  ${row.note}`);
  }
  return targets;
}

async function main() {
  if (!fs.existsSync(path.join(__dirname, '..', 'dist'))) {
    throw new Error('dist/ is missing: run `npm run build` first (or `npm run bench`, which does)');
  }
  console.log(`node ${process.version} on ${require('node:os').cpus()[0].model}`);
  const summary = [];
  for (const name of discover(process.argv.slice(2))) {
    const bench = require(path.join(__dirname, `${name}.js`));
    try {
      for (const target of report(name, bench.title, await bench.run())) summary.push({ name, ...target });
    } catch (err) {
      // One broken benchmark (e.g. code it measures not built yet) must not hide the others.
      console.log(`\n${name}: ${bench.title}\n  FAILED TO RUN: ${err instanceof Error ? err.message : err}`);
      summary.push({ name, label: 'the benchmark ran', target: '', pass: false });
    }
  }
  console.log('\nsummary');
  for (const { name, label, target, pass } of summary) console.log(`  ${pass ? 'PASS' : 'FAIL'}  ${name}: ${label}${target ? ` ${target}` : ''}`);
  const missed = summary.filter((target) => !target.pass).length;
  console.log(missed > 0 ? `${missed} of ${summary.length} target(s) missed` : `all ${summary.length} targets met`);
  if (missed > 0) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
