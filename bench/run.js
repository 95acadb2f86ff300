// Runs Tessera's benchmarks against the compiled dist/ (`npm run bench` builds first).
//
//   node bench/run.js            every benchmark
//   node bench/run.js tokens     only bench/tokens.js
//
// A benchmark is any other .js file in bench/ that exports
//   { title: string, run: async () => ({ context: string, rows: Row[] }) }
// where a Row is { label, opsPerSecond } and, for a figure with a target,
//   compare: { to: <label of the baseline row>, ratio: <measured ratio>, atLeast?: <minimum> }
// (the benchmark computes the ratio itself, e.g. as a median of per-round ratios; a row
// without `atLeast` is for reference and has no target).
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
    .sort();
  const unknown = selected.filter((name) => !names.includes(name));
  if (unknown.length > 0) throw new Error(`no benchmark named ${unknown.join(', ')} (have: ${names.join(', ')})`);
  return selected.length > 0 ? selected : names;
}

function formatRate(opsPerSecond) {
  return `${Math.round(opsPerSecond).toLocaleString('en-US')} ops/s`;
}

/** Prints one benchmark's rows; returns how many targets it missed. */
function report(name, title, result) {
  console.log(`\n${name}: ${title}`);
  console.log(`  ${result.context}`);
  const width = Math.max(...result.rows.map((row) => row.label.length));
  let missed = 0;
  for (const row of result.rows) {
    let line = `  ${row.label.padEnd(width)}  ${formatRate(row.opsPerSecond).padStart(14)}`;
    if (row.compare) {
      const { ratio, to, atLeast } = row.compare;
      line += `  ${ratio.toFixed(3)} × ${to}`;
      if (atLeast !== undefined) {
        const pass = ratio >= atLeast;
        if (!pass) missed += 1;
        line += ` (target ≥ ${atLeast})  ${pass ? 'PASS' : 'FAIL'}`;
      }
    }
    console.log(line);
  }
  return missed;
}

async function main() {
  if (!fs.existsSync(path.join(__dirname, '..', 'dist'))) {
    throw new Error('dist/ is missing: run `npm run build` first (or `npm run bench`, which does)');
  }
  console.log(`node ${process.version} on ${require('node:os').cpus()[0].model}`);
  let missed = 0;
  for (const name of discover(process.argv.slice(2))) {
    const bench = require(path.join(__dirname, `${name}.js`));
    missed += report(name, bench.title, await bench.run());
  }
  if (missed > 0) {
    console.log(`\n${missed} target(s) missed`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
