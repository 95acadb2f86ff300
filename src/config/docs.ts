/**
 * Renders the README's configuration table from the schema, so the documented variables, keys
 * and defaults are the ones the loader uses. `npm run docs:config` runs this file:
 *
 *     node dist/config/docs.js                    # print the table
 *     node dist/config/docs.js --write README.md  # replace the table between the markers
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { CONFIG_FILE_ENV, configOptions } from './schema';

/** The README's table lives between these two lines. */
export const CONFIG_START_MARKER = '<!-- config:start -->';
export const CONFIG_END_MARKER = '<!-- config:end -->';

/**
 * A Markdown table of every option: environment variable, config-file key, default, description.
 *
 * @example
 * renderConfigTable().includes('`TESSERA_TOKEN_TTL`'); // true
 */
export function renderConfigTable(): string {
  const rows = [
    ['`' + CONFIG_FILE_ENV + '`', '—', 'unset', 'Path of a YAML or JSON config file whose keys are the config-file keys below. Variables override it.'],
    ...configOptions.map((option) => [
      option.env === undefined ? '—' : '`' + option.env + '`',
      '`' + option.key + '`',
      option.defaultText,
      option.description,
    ]),
  ];
  const line = (cells: readonly string[]): string => `| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(['Environment variable', 'Config-file key', 'Default', 'Description']), '|---|---|---|---|', ...rows.map(line)].join('\n') + '\n';
}

/** The text between the markers, or null when the markers are missing. */
export function readConfigSection(markdown: string): string | null {
  const start = markdown.indexOf(CONFIG_START_MARKER);
  const end = markdown.indexOf(CONFIG_END_MARKER);
  if (start === -1 || end < start) return null;
  return markdown.slice(start + CONFIG_START_MARKER.length, end);
}

/**
 * `markdown` with the text between the markers replaced by the current table.
 *
 * @throws Error when the markers are missing: where the table goes is the author's choice.
 */
export function replaceConfigSection(markdown: string): string {
  const section = readConfigSection(markdown);
  if (section === null) throw new Error(`no ${CONFIG_START_MARKER} … ${CONFIG_END_MARKER} markers found`);
  const start = markdown.indexOf(CONFIG_START_MARKER) + CONFIG_START_MARKER.length;
  return `${markdown.slice(0, start)}\n${renderConfigTable()}${markdown.slice(start + section.length)}`;
}

function main(args: readonly string[]): void {
  if (args.length === 0) {
    process.stdout.write(renderConfigTable());
    return;
  }
  const [flag, file] = args;
  if (flag !== '--write' || file === undefined || args.length !== 2) {
    process.stderr.write('usage: docs.js [--write FILE]\n');
    process.exitCode = 2;
    return;
  }
  try {
    writeFileSync(file, replaceConfigSection(readFileSync(file, 'utf8')));
  } catch (err) {
    process.stderr.write(`${file}: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) main(process.argv.slice(2));
