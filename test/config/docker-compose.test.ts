import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load';
import { CONFIG_FILE_ENV, configOptions } from '../../src/config/schema';

interface Service {
  build?: unknown;
  image?: string;
  command?: string[];
  environment?: Record<string, string | number | boolean> | string[];
  depends_on?: Record<string, unknown> | string[];
  volumes?: string[];
}

const text = readFileSync(path.join(__dirname, '../../docker-compose.yml'), 'utf8');
const compose = parse(text) as { services: Record<string, Service> };
const knownVariables = new Set([CONFIG_FILE_ENV, ...configOptions.flatMap((o) => (o.env === undefined ? [] : [o.env]))]);

/** A service's environment as a map, with `${VAR:-default}` resolved the way compose does when VAR is unset. */
function environmentOf(service: Service): Record<string, string> {
  const entries = Array.isArray(service.environment)
    ? service.environment.map((item) => item.split(/=(.*)/s).slice(0, 2) as [string, string])
    : Object.entries(service.environment ?? {}).map(([key, value]) => [key, String(value)] as [string, string]);
  return Object.fromEntries(entries.map(([key, value]) => [key, value.replace(/\$\{\w+(?::?-([^}]*))?\}/g, (_, fallback: string | undefined) => fallback ?? '')]));
}

describe('docker-compose.yml', () => {
  const hub = compose.services.hub!;

  it('references only configuration variables that exist', () => {
    const referenced = new Set(text.match(/TESSERA_[A-Z0-9_]+/g));
    expect(referenced.size).toBeGreaterThan(0);
    expect([...referenced].filter((name) => !knownVariables.has(name))).toEqual([]);
    expect(Object.keys(environmentOf(hub)).filter((name) => !knownVariables.has(name))).toEqual([]);
  });

  it('runs the hub from the build with a configuration that loads', () => {
    expect(hub.build).toBe('.');
    expect(hub.command).toEqual(['node', 'dist/cli/main.js', 'serve']);
    const env = environmentOf(hub);
    const { config } = loadConfig({ env });
    expect(config.listen.host).toBe('0.0.0.0');
    expect(hub.volumes).toContain(`keys:${config.keys.dir}`);
    for (const name of ['TESSERA_PUBLIC_URL', 'TESSERA_HOST', 'TESSERA_PORT', 'TESSERA_STORE', 'TESSERA_KEYS_DIR', 'TESSERA_ENV']) {
      expect(Object.keys(env)).toContain(name);
    }
  });

  it('stores sessions in the redis service, which keeps an append-only file', () => {
    const redis = compose.services.redis!;
    const { config } = loadConfig({ env: environmentOf(hub) });
    expect(new URL(config.store.url).host).toBe('redis:6379');
    expect(config.store.url.startsWith('redis://')).toBe(true);
    const dependsOn = Array.isArray(hub.depends_on) ? hub.depends_on : Object.keys(hub.depends_on ?? {});
    expect(dependsOn).toContain('redis');
    expect(redis.image).toMatch(/^redis:7(\b|$)/);
    expect(redis.command?.join(' ')).toContain('--appendonly yes');
  });
});
