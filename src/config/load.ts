/**
 * Loads the configuration: an optional YAML or JSON file, overridden by `TESSERA_*` environment
 * variables, validated by the one schema (`schema.ts`) and deeply frozen. An invalid
 * configuration stops start-up with every problem listed as `path: reason`, so an operator fixes
 * them in one pass instead of one restart per mistake.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { TesseraError } from '../core/errors';
import { CONFIG_FILE_ENV, configOptions, configSchema, unwrap } from './schema';
import type { Config, ConfigOption } from './schema';

/** One thing wrong with the configuration: `path` is a config-file key such as `sites[1].origin`. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/**
 * `ERR_CONFIG_INVALID` with every problem found. The message holds one `path: reason` line per
 * problem; `problems` holds the same for programs.
 */
export class ConfigError extends TesseraError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super('ERR_CONFIG_INVALID', [`invalid configuration (${count}):`, ...problems.map((p) => `${p.path}: ${p.message}`)].join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Where `loadConfig` reads from; both default to the real process. */
export interface LoadConfigOptions {
  /** Environment variables; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Path of a YAML or JSON config file; default `$TESSERA_CONFIG`, none when unset. */
  file?: string;
}

/** A valid configuration and what the operator must hear about it at start-up. */
export interface LoadedConfig {
  /** Deeply frozen. */
  config: Config;
  /** Settings that work but are risky (a memory store, mail written to files in production). Print them loudly. */
  warnings: string[];
}

/**
 * Reads, validates and freezes the configuration. Environment variables override file keys
 * (`TESSERA_SITES` replaces the whole `sites` list); an empty variable counts as unset.
 *
 * @throws {ConfigError} `ERR_CONFIG_INVALID`, listing every problem.
 * @example
 * const { config, warnings } = loadConfig({ env: { TESSERA_TOKEN_TTL: '60' } });
 * config.tokens.ttlSeconds; // 60
 */
export function loadConfig({ env = process.env, file = env[CONFIG_FILE_ENV] || undefined }: LoadConfigOptions = {}): LoadedConfig {
  const input = file === undefined ? {} : readConfigFile(file);
  const problems: ConfigProblem[] = [];
  const setByEnv: ConfigOption[] = [];
  for (const option of configOptions) {
    const raw = option.env === undefined ? undefined : env[option.env];
    if (raw === undefined || raw === '') continue;
    const converted = fromEnvironment(raw, option);
    if ('problem' in converted) {
      problems.push({ path: option.key, message: `${converted.problem} (${option.env})` });
      continue;
    }
    if (setAt(input, option.path, converted.value)) setByEnv.push(option);
  }

  const result = configSchema.safeParse(input, { error: describeIssue });
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(...toProblems(issue, setByEnv));
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  const config = deepFreeze(result.data);
  return { config, warnings: warningsFor(config) };
}

function warningsFor(config: Config): string[] {
  const production = config.env === 'production';
  const warnings: string[] = [];
  if (config.store.url === 'memory:') {
    warnings.push(
      `${production ? 'PRODUCTION HUB ON THE MEMORY STORE: ' : ''}store.url (TESSERA_STORE) is memory: sessions, site links and ` +
        'replay records live in this process only, vanish on restart and are not shared between hub instances; ' +
        'use sqlite: or redis:// outside development',
    );
  }
  // Magic links are refused with the file transport in production (schema.ts), but account
  // notices and e-mail change links are mailed whatever the login settings. The directory is
  // named as the file transport resolves it: from the working directory of the process.
  if (production && config.mail.transport === 'file') {
    warnings.push(`mail.transport (TESSERA_MAIL_TRANSPORT) is file in production: e-mails to account holders (notices, e-mail change links) are written to ${path.resolve(config.mail.dir)}, nobody receives them`);
  }
  for (const site of config.sites) {
    // A site with an API credential runs the SDK and keeps sessions of its own: without a
    // back-channel endpoint a revocation reaches it only through front-channel beacons (best
    // effort) and status checks, so an ended session may live on there.
    if (site.credentialHash !== null && site.backchannelLogoutUri === null) {
      warnings.push(`site ${site.origin} has an API credential but no backchannelLogoutUri: revocations reach its own sessions only by front-channel beacons and status checks`);
    }
  }
  // Each site's projection key is its prefix and the site's own session id; a visitor who copies
  // one site's cookie to another that reads the same prefix carries the first site's session
  // there (its user, and the fields and claims the first site was given). Right for one
  // application on two origins, so a warning, not a refusal.
  const byPrefix = new Map<string, string>();
  for (const site of config.sites) {
    if (site.projection === null) continue;
    const first = byPrefix.get(site.projection.keyPrefix);
    if (first === undefined) byPrefix.set(site.projection.keyPrefix, site.origin);
    else {
      warnings.push(
        `sites ${first} and ${site.origin} share projection.keyPrefix ${site.projection.keyPrefix}: a visitor who copies one site's cookie to the other carries that site's session there; give each its own prefix unless they are one application`,
      );
    }
  }
  return warnings;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: file, message: `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` }]);
  }
  let parsed: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both formats.
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError([{ path: file, message: `is not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}` }]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isPlainObject(parsed)) throw new ConfigError([{ path: file, message: 'must hold a mapping of options' }]);
  return parsed;
}

/** Turns an environment string into the type the option's schema expects. */
function fromEnvironment(raw: string, option: ConfigOption): { value: unknown } | { problem: string } {
  const type = unwrap(option.schema);
  if (type instanceof z.ZodNumber) {
    // Leave anything that is not plainly a number as a string: the schema then says "must be a number".
    return { value: /^[+-]?\d+(?:\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw };
  }
  if (type instanceof z.ZodBoolean) {
    const word = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(word)) return { value: true };
    if (['false', '0', 'no', 'off'].includes(word)) return { value: false };
    return { value: raw };
  }
  if (type instanceof z.ZodArray) {
    try {
      return { value: JSON.parse(raw) as unknown };
    } catch (err) {
      return { problem: `must be a JSON array: ${(err as Error).message}` };
    }
  }
  return { value: raw };
}

/**
 * Writes `value` at `path`, creating missing sections. A section the file set to something
 * other than a mapping is left alone (false): the schema reports it.
 */
function setAt(input: Record<string, unknown>, path: readonly string[], value: unknown): boolean {
  let target = input;
  for (const key of path.slice(0, -1)) {
    target[key] ??= {};
    const next = target[key];
    if (!isPlainObject(next)) return false;
    target = next;
  }
  target[path[path.length - 1]!] = value;
  return true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reasons phrased for operators ("must be at most 120") instead of zod's defaults. */
function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${{ int: 'an integer', array: 'an array', object: 'a mapping' }[issue.expected as string] ?? `a ${issue.expected}`}`;
    case 'too_big':
      return bound('at most', 'less than', issue.maximum, issue.inclusive, issue.origin);
    case 'too_small':
      if (issue.origin === 'string' && issue.minimum === 1) return 'must not be empty';
      return bound('at least', 'more than', issue.minimum, issue.inclusive, issue.origin);
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return undefined;
  }
}

function bound(inclusiveWord: string, exclusiveWord: string, limit: number | bigint, inclusive: boolean | undefined, origin: string): string {
  const words = `${inclusive === false ? exclusiveWord : inclusiveWord} ${limit}`;
  if (origin === 'string') return `must be ${words} characters long`;
  if (origin === 'array') return `must have ${words} items`;
  return `must be ${words}`;
}

function toProblems(issue: z.core.$ZodIssue, setByEnv: readonly ConfigOption[]): ConfigProblem[] {
  const found =
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: [...issue.path, key], message: 'is not a known option' }))
      : [{ path: issue.path, message: issue.message }];
  return found.map(({ path, message }) => {
    // Name the variable when the bad value came from one: the operator may not know it overrides the file.
    const source = setByEnv.find((option) => option.path.every((segment, i) => path[i] === segment));
    return { path: formatPath(path), message: source ? `${message} (${source.env})` : message };
  });
}

/** `['sites', 1, 'origin']` → `sites[1].origin`, the way the config file spells it. */
function formatPath(path: readonly PropertyKey[]): string {
  const text = path.map((segment) => (typeof segment === 'number' ? `[${segment}]` : `.${String(segment)}`)).join('');
  return text.startsWith('.') ? text.slice(1) : text || '(root)';
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
