/**
 * The Dockerfile, read the way the builder reads it (no Docker engine runs here): a multi-stage
 * build whose runtime stage holds production dependencies and dist/ only, runs as a non-root
 * user, serves `tessera serve` on the port the configuration defaults to, keeps keys and data on
 * volumes, and checks /healthz. Also what the build context lets through (.dockerignore), and
 * that the code the image runs imports no development dependency.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load';
import { CONFIG_FILE_ENV, configOptions } from '../../src/config/schema';

const root = path.join(__dirname, '../..');

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** Instructions with line continuations joined and comments dropped, grouped by stage. */
function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: rest.trim() };
    if (instruction.keyword === 'FROM') {
      const [, base = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args) ?? [];
      stages.push({ name: name ?? String(stages.length), base: base.replace(/\$\{(\w+)\}/g, (_, v: string) => args[v] ?? ''), instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [name = '', value = ''] = instruction.args.split('=');
      args[name] = value;
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { args, stages };
}

/** An exec-form (JSON array) argument list, or the shell form as one string. */
function execForm(args: string): string[] {
  return args.startsWith('[') ? (JSON.parse(args) as string[]) : [args];
}

const dockerfile = parseDockerfile(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
const { stages } = dockerfile;
const runtime = stages.at(-1)!;
const byName = (name: string) => stages.find((s) => s.name === name);
const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
/** The stage, and the stages it is built FROM, innermost last. */
function lineage(stage: Stage): Stage[] {
  const parent = byName(stage.base);
  return parent === undefined ? [stage] : [stage, ...lineage(parent)];
}
const inRuntime = (keyword: string) => runtime.instructions.filter((i) => i.keyword === keyword);
const copiesFrom = (stage: Stage) =>
  stage.instructions
    .filter((i) => i.keyword === 'COPY')
    .map((i) => {
      const from = /--from=(\S+)/.exec(i.args)?.[1] ?? null;
      const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      return { from, sources: parts.slice(0, -1), target: parts.at(-1)! };
    });
const workdir = inRuntime('WORKDIR').at(-1)!.args;
const env = Object.fromEntries(
  inRuntime('ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')])),
) as Record<string, string>;

describe('Dockerfile', () => {
  it('builds in stages from an official Node 20 image and runs from a fresh one', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(byName(stage.base) !== undefined || /^node:20[.-]/.test(stage.base)).toBe(true);
    // The runtime starts from the base image again, not from a stage that had compilers or dev dependencies.
    expect(byName(runtime.base)).toBeUndefined();
    expect(runs(runtime).join('\n')).not.toMatch(/apt-get|npm (ci|install)|\bg\+\+|\bmake\b/);
  });

  it('compiles native modules in a stage that has the toolchain', () => {
    const deps = byName(copiesFrom(runtime).find((c) => c.sources.some((s) => s.endsWith('node_modules')))!.from!)!;
    const toolchainRuns = lineage(deps).flatMap(runs).join('\n');
    expect(toolchainRuns).toMatch(/apt-get install[^\n]*python3/);
    expect(toolchainRuns).toMatch(/\bg\+\+/);
    expect(toolchainRuns).toMatch(/\bmake\b/);
  });

  it('copies into the runtime only production node_modules, the compiled dist/ and package metadata', () => {
    const copies = copiesFrom(runtime);
    const modules = copies.filter((c) => c.sources.some((s) => /node_modules\/?$/.test(s)));
    expect(modules).toHaveLength(1);
    const deps = byName(modules[0]!.from!)!;
    const installs = lineage(deps).flatMap(runs).filter((r) => /npm (ci|install)/.test(r));
    expect(installs.length).toBeGreaterThan(0);
    for (const install of installs) expect(install).toMatch(/--omit=dev/);

    const dist = copies.find((c) => c.sources.some((s) => /dist\/?$/.test(s)))!;
    expect(runs(byName(dist.from!)!).join('\n')).toContain('npm run build');
    // From the build context: nothing but package metadata and the README.
    for (const copy of copies.filter((c) => c.from === null)) {
      for (const source of copy.sources) expect(['package.json', 'package-lock.json', 'README.md']).toContain(source);
    }
    expect(copies.every((c) => c.from === null || c.sources.every((s) => /^\/app\/(node_modules|dist)\/?$/.test(s)))).toBe(true);
  });

  it('runs as an unprivileged user', () => {
    const users = inRuntime('USER').map((i) => i.args.split(':')[0]);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0']).not.toContain(users.at(-1));
    // The switch comes before the command, and nothing after it regains root.
    const index = runtime.instructions.findIndex((i) => i.keyword === 'USER');
    expect(runtime.instructions.slice(index + 1).some((i) => i.keyword === 'RUN')).toBe(false);
  });

  it('runs `tessera serve` from dist/, which the package names as its bin', () => {
    const entrypoint = execForm(inRuntime('ENTRYPOINT').at(-1)?.args ?? '[]');
    const cmd = execForm(inRuntime('CMD').at(-1)!.args);
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect([...entrypoint, ...cmd]).toEqual(['node', pkg.bin.tessera, 'serve']);
    expect(inRuntime('STOPSIGNAL').at(-1)?.args ?? 'SIGTERM').toBe('SIGTERM');
  });

  it('listens on all interfaces on the port it exposes, with a health check on /healthz', () => {
    const config = loadConfig({ env }).config;
    expect(config.listen.host).toBe('0.0.0.0');
    const exposed = inRuntime('EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.split('/')[0]));
    expect(exposed).toContain(config.listen.port);
    const healthcheck = inRuntime('HEALTHCHECK').at(-1)!.args;
    expect(healthcheck).toMatch(/^(--\S+\s+)*CMD /);
    expect(healthcheck).toContain('/healthz');
    expect(healthcheck).toContain('process.env.TESSERA_PORT || 8080');
  });

  it('sets only configuration variables that exist', () => {
    const known = new Set([CONFIG_FILE_ENV, ...configOptions.flatMap((o) => (o.env === undefined ? [] : [o.env]))]);
    const tessera = Object.keys(env).filter((name) => name.startsWith('TESSERA_'));
    expect(tessera.length).toBeGreaterThan(0);
    expect(tessera.filter((name) => !known.has(name))).toEqual([]);
  });

  it('keeps signing keys and data on volumes, where the default configuration puts them', () => {
    const volumes = inRuntime('VOLUME').flatMap((i) => execForm(i.args));
    const config = loadConfig({ env }).config;
    expect(volumes).toContain(path.posix.join(workdir, config.keys.dir));
    const sqliteFile = config.store.url.slice('sqlite:'.length);
    expect(volumes).toContain(path.posix.join(workdir, path.posix.dirname(sqliteFile)));
    expect(volumes).toContain(path.posix.join(workdir, path.posix.dirname(config.mail.dir)));
    // The directories exist in the image and belong to the user the hub runs as.
    const user = inRuntime('USER').at(-1)!.args;
    expect(runs(runtime).join('\n')).toMatch(new RegExp(`chown ${user}:${user} keys data`));
  });

  it('is what docker-compose.yml builds: its hub services run `serve` through the entrypoint, with the keys volume', () => {
    interface Service {
      build?: unknown;
      entrypoint?: string[];
      command?: string[];
      volumes?: string[];
    }
    const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
    const entrypoint = execForm(inRuntime('ENTRYPOINT').at(-1)!.args);
    const cmd = execForm(inRuntime('CMD').at(-1)!.args);
    const config = loadConfig({ env }).config;
    const keysVolume = path.posix.join(workdir, config.keys.dir);
    const hubs = Object.values(compose.services).filter((s) => s.build === '.' && s.entrypoint === undefined);
    expect(hubs.length).toBeGreaterThan(0);
    for (const hub of hubs) {
      expect([...entrypoint, ...(hub.command ?? cmd)]).toEqual(['node', 'dist/cli/main.js', 'serve']);
      expect((hub.volumes ?? []).map((v) => v.split(':')[1])).toContain(keysVolume);
    }
  });
});

describe('.dockerignore', () => {
  const patterns = readFileSync(path.join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  it('sends the builder an allow-list: never keys, data, local config or installed modules', () => {
    expect(patterns[0]).toBe('*');
    const allowed = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1).replace(/\/$/, ''));
    for (const secretish of ['keys', 'data', '.env', 'node_modules', 'dist', '.git']) expect(allowed).not.toContain(secretish);
    // Everything the Dockerfile copies from the context is let through, and exists.
    const fromContext = stages.flatMap(copiesFrom).filter((c) => c.from === null).flatMap((c) => c.sources);
    for (const source of fromContext) {
      expect(allowed).toContain(source.replace(/\/$/, ''));
      expect(existsSync(path.join(root, source))).toBe(true);
    }
  });
});

describe('the code the image runs', () => {
  it('imports only production dependencies and Node built-ins (dev dependencies are not in the image)', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const production = new Set(Object.keys(pkg.dependencies));
    const builtins = new Set(builtinModules);
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const full = path.join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else if (full.endsWith('.ts')) files.push(full);
      }
    };
    walk(path.join(root, 'src'));
    const offenders: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      // Type-only imports vanish from the compiled code; everything else is required at run time.
      const specifiers = [
        ...[...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+'([^']+)'/gm)].map((m) => m[1]!),
        ...[...text.matchAll(/^\s*import\s+'([^']+)'/gm)].map((m) => m[1]!),
        ...[...text.matchAll(/\b(?:require|import)\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!),
      ];
      for (const specifier of specifiers) {
        if (specifier.startsWith('.') || specifier.startsWith('node:') || builtins.has(specifier)) continue;
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (!production.has(name)) offenders.push(`${path.relative(root, file)}: ${specifier}`);
      }
    }
    expect(files.length).toBeGreaterThan(50);
    expect(offenders).toEqual([]);
  });
});
