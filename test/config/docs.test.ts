import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CONFIG_END_MARKER, CONFIG_START_MARKER, readConfigSection, renderConfigTable, replaceConfigSection } from '../../src/config/docs';
import { loadConfig } from '../../src/config/load';
import { configOptions } from '../../src/config/schema';

const readmePath = path.join(__dirname, '../../README.md');

describe('README configuration table', () => {
  it('is the table generated from the schema', () => {
    const readme = readFileSync(readmePath, 'utf8');
    if (readConfigSection(readme) === null) {
      throw new Error(`README.md lacks the ${CONFIG_START_MARKER} … ${CONFIG_END_MARKER} markers: add them under "## Configuration", then run npm run docs:config`);
    }
    const regenerated = replaceConfigSection(readme);
    if (regenerated !== readme) {
      const lines = readme.split('\n');
      const at = regenerated.split('\n').findIndex((line, i) => line !== lines[i]);
      throw new Error(`README.md's configuration table is out of date (first difference on line ${at + 1}): run npm run docs:config`);
    }
  });

  it('has its example config file load without problems', () => {
    const readme = readFileSync(readmePath, 'utf8');
    const example = /## Configuration[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const dir = mkdtempSync(path.join(tmpdir(), 'tessera-readme-'));
    try {
      const file = path.join(dir, 'tessera.yaml');
      writeFileSync(file, example!);
      const { config } = loadConfig({ env: {}, file });
      expect(config.env).toBe('production');
      expect(config.sites.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('renderConfigTable', () => {
  const table = renderConfigTable();
  const rows = table.trimEnd().split('\n').slice(2);

  it('has one row per option plus TESSERA_CONFIG, each with four cells', () => {
    expect(rows).toHaveLength(configOptions.length + 1);
    expect(rows[0]).toMatch(/^\| `TESSERA_CONFIG` \| — \| unset \|/);
    for (const row of rows) expect(row.split(/(?<!\\)\|/).length).toBe(6);
  });

  it('documents every variable, key and default', () => {
    expect(table).toContain('| `TESSERA_TOKEN_TTL` | `tokens.ttlSeconds` | `30` | Lifetime of a handoff token in seconds (hard cap 120). |');
    expect(table).toContain('| `TESSERA_SESSION_MAX_PER_USER` | `sessions.maxPerUser` | unset (no limit) |');
    expect(table).toContain('| — | `sites[].cookie.sameSite` | `none` |');
    expect(table).toContain('| — | `sites[].origin` | required |');
    for (const option of configOptions) {
      expect(table).toContain(`${option.env === undefined ? '—' : `\`${option.env}\``} | \`${option.key}\` | ${option.defaultText} |`);
    }
  });
});

describe('replaceConfigSection', () => {
  it('replaces only the text between the markers', () => {
    const before = `# Title\n\n${CONFIG_START_MARKER}\nold table\n${CONFIG_END_MARKER}\n\nAfter.\n`;
    expect(replaceConfigSection(before)).toBe(`# Title\n\n${CONFIG_START_MARKER}\n${renderConfigTable()}${CONFIG_END_MARKER}\n\nAfter.\n`);
  });

  it('refuses a file without markers', () => {
    expect(() => replaceConfigSection('# Title\n')).toThrow(/markers/);
    expect(readConfigSection(`${CONFIG_END_MARKER}\n${CONFIG_START_MARKER}`)).toBeNull();
  });
});
