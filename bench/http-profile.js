// Summarises a V8 .cpuprofile written by a benchmark server (BENCH_HTTP_PROFILE_DIR, see
// bench/http-harness.js): where the server's CPU time went, by area and by function.
//
//   node bench/http-profile.js <file.cpuprofile> [how many functions, default 25]
//
// "self" is time in the function itself; "total" includes what it called (each stack counted
// once, so recursion does not inflate it; code resumed after an `await` is not under its
// caller). Samples spent loading modules (start-up) are left out. Not a benchmark itself (it
// exports no `run`).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** Where a frame's code lives: our dist/ folder, a package, node itself, or V8 / native. */
function areaOf({ url, functionName }) {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const file = url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (pkg) return pkg[1];
  if (file.startsWith('node:internal/')) return file.split('/').slice(0, 2).join('/');
  if (file.startsWith('node:')) return file.split('/')[0];
  const rel = path.relative(root, file);
  if (rel.startsWith('dist/')) return rel.split('/').slice(0, 3).join('/').replace(/\.js$/, '');
  return rel;
}

function nameOf({ functionName, url, lineNumber }) {
  const where = url === '' ? '' : ` ${path.relative(root, url.replace(/^file:\/\//, ''))}:${lineNumber + 1}`;
  return `${functionName || '(anonymous)'}${where}`;
}

function summarise(profile, top) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // Time per sample, from timeDeltas (the sampling interval varies under load).
  const selfUs = new Map();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0)));
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const idle = [...selfUs].filter(([id]) => ['(idle)', '(program)'].includes(byId.get(id).callFrame.functionName)).reduce((a, [, us]) => a + us, 0);

  const stackOf = (id) => {
    const frames = [];
    for (let at = id; at !== undefined; at = parent.get(at)) frames.push(byId.get(at).callFrame);
    return frames;
  };
  const self = new Map();
  const inclusive = new Map();
  const areas = new Map();
  let startup = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id).callFrame;
    if (['(idle)', '(program)'].includes(frame.functionName)) continue;
    if (stackOf(id).some((f) => f.url === 'node:internal/modules/cjs/loader')) {
      startup += us;
      continue;
    }
    self.set(nameOf(frame), (self.get(nameOf(frame)) ?? 0) + us);
    areas.set(areaOf(frame), (areas.get(areaOf(frame)) ?? 0) + us);
    for (const name of new Set(stackOf(id).map(nameOf))) inclusive.set(name, (inclusive.get(name) ?? 0) + us);
  }

  const busy = totalUs - idle - startup;
  const pct = (us) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  const list = (map, n) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n);
  console.log(`busy ${(busy / 1e6).toFixed(2)} s of ${(totalUs / 1e6).toFixed(2)} s sampled, start-up ${(startup / 1e6).toFixed(2)} s left out (percentages are of busy time)`);
  console.log('\nself time by area');
  for (const [area, us] of list(areas, 20)) console.log(`  ${pct(us)}  ${area}`);
  console.log(`\nself time, top ${top} functions`);
  for (const [name, us] of list(self, top)) console.log(`  ${pct(us)}  ${name}`);
  console.log(`\ntotal time, top ${top} functions of dist/`);
  for (const [name, us] of list(new Map([...inclusive].filter(([name]) => name.includes(' dist/'))), top)) console.log(`  ${pct(us)}  ${name}`);
}

if (require.main === module) {
  const [file, top = '25'] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/http-profile.js <file.cpuprofile> [top]');
    process.exitCode = 2;
  } else {
    summarise(JSON.parse(fs.readFileSync(file, 'utf8')), Number(top));
  }
}
