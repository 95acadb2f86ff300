/**
 * The integration guides (docs/integrations/*.md) cannot rot: every fenced code block in them is
 * a file under examples/, verbatim, and those files are what the interop suites run
 * (test/interop/, test/destination/examples.test.ts). A block introduced by a line naming its file
 * (`examples/python/flask_site.py`:) must equal that file; any other block must equal some file
 * under examples/. TypeScript examples import the SDK from the source tree; the guides show the
 * package name, as src/destination/README.md does. Every YAML file under examples/ is a hub
 * configuration that loads.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadConfig } from '../../src/config/load';

const root = join(__dirname, '..', '..');
const guidesDir = join(root, 'docs', 'integrations');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === '__pycache__' || name === 'node_modules') return [];
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** An example as a guide shows it. */
function shown(path: string): string {
  const text = readFileSync(path, 'utf8');
  return path.endsWith('.ts') ? text.replace("from '../../src/destination'", "from 'tessera/destination'") : text;
}

interface Block {
  guide: string;
  line: number;
  /** The file the line before the block names, if any. */
  names: string | null;
  text: string;
}

/** Fenced blocks (``` or ~~~, any info string) with the file named just before each. */
function blocksOf(guide: string): Block[] {
  const lines = readFileSync(join(guidesDir, guide), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^(```+|~~~+)/.exec(lines[i]!);
    if (open === null) continue;
    const fence = open[1]!;
    let end = i + 1;
    while (end < lines.length && !lines[end]!.startsWith(fence)) end += 1;
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before -= 1;
    const named = before >= 0 ? /`(examples\/[^`]+)`:\s*$/.exec(lines[before]!) : null;
    blocks.push({ guide, line: i + 1, names: named ? named[1]! : null, text: `${lines.slice(i + 1, end).join('\n')}\n` });
    i = end;
  }
  return blocks;
}

const guides = readdirSync(guidesDir).filter((name) => name.endsWith('.md')).sort();
const examples = new Map(filesUnder(join(root, 'examples')).map((path) => [relative(root, path), shown(path)]));

describe('docs/integrations/*.md', () => {
  it('has the guides the README links to', () => {
    expect(guides).toEqual(expect.arrayContaining(['nginx.md', 'node.md', 'python.md']));
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const guide of guides) expect(readme).toContain(`docs/integrations/${guide}`);
    expect(readme).toContain('docs/redis-layout.md');
  });

  describe.each(guides)('%s', (guide) => {
    const blocks = blocksOf(guide);

    it('has code, and every block is a file under examples/, verbatim', () => {
      expect(blocks.length).toBeGreaterThan(0);
      for (const block of blocks) {
        const where = `${guide}:${block.line}`;
        if (block.names !== null) {
          expect({ where, exists: examples.has(block.names) }).toEqual({ where, exists: true });
          expect({ where, text: block.text }).toEqual({ where, text: examples.get(block.names) });
        } else {
          expect({ where, isAnExample: [...examples.values()].includes(block.text) }).toEqual({ where, isAnExample: true });
        }
      }
    });

    it('links only to files that exist', () => {
      expect(brokenLinks(join(guidesDir, guide))).toEqual([]);
    });
  });
});

/** Relative links of a Markdown file whose target does not exist. */
function brokenLinks(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/\]\((?!https?:|#)([^)#\s]+)(#[^)]*)?\)/g)].map((m) => m[1]!).filter((target) => statSync(join(file, '..', target), { throwIfNoEntry: false }) === undefined);
}

describe('docs/redis-layout.md', () => {
  it('links only to files that exist', () => {
    expect(brokenLinks(join(root, 'docs', 'redis-layout.md'))).toEqual([]);
  });
});

describe('examples/**/*.yaml', () => {
  const yamlFiles = [...examples.keys()].filter((path) => /\.ya?ml$/.test(path));

  it.each(yamlFiles)('%s is a hub configuration that loads', (path) => {
    const { config } = loadConfig({ env: {}, file: join(root, path) });
    expect(config.sites.length).toBeGreaterThan(0);
  });
});
