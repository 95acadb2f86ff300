/**
 * docs/openapi.yaml describes the admin API exactly: every registered admin route (and
 * `/metrics`, documented at the root through a path-level `servers`) is in the document and
 * every operation in the document is a registered route.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { adminApiRoutes } from '../../../src/hub/admin/api/routes';
import { AUDIT_EVENT_TYPES } from '../../../src/ports';
import { createRouter } from '../../../src/hub/routes';
import { startTestHub, type TestHub } from '../../support/hub';

const prefix = '/api/v1/admin';

/** Routes outside the prefix that the document describes too. */
const rootRoutes = ['/metrics'];

interface OpenApi {
  servers: Array<{ url: string }>;
  components: { schemas: Record<string, { properties?: Record<string, { enum?: unknown[] }> }> };
  paths: Record<string, Record<string, unknown> & { servers?: Array<{ url: string }> }>;
}

function document(): OpenApi {
  return parse(readFileSync(join(__dirname, '../../../docs/openapi.yaml'), 'utf8')) as OpenApi;
}

function documented(): string[] {
  const doc = document();
  expect(doc.servers.map((s) => s.url)).toEqual([prefix]);
  return Object.entries(doc.paths).flatMap(([path, item]) => {
    const base = item.servers === undefined ? prefix : item.servers.map((s) => s.url.replace(/\/$/, '')).join();
    return Object.keys(item)
      .filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k))
      .map((method) => `${method.toUpperCase()} ${base}${path.replace(/\{(\w+)\}/g, ':$1')}`);
  });
}

describe('docs/openapi.yaml', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub.close());

  it('lists exactly the admin API routes the hub registers', () => {
    const registered = createRouter(hub.deps)
      .stack.filter((layer) => String(layer.path).startsWith(`${prefix}/`) || rootRoutes.includes(String(layer.path)))
      .flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${String(layer.path)}`));
    expect(registered.length).toBe(adminApiRoutes.length + rootRoutes.length);
    expect([...documented()].sort()).toEqual([...registered].sort());
  });

  it('lists exactly the audit event types the hub records', () => {
    expect(document().components.schemas.AuditEvent!.properties!.type!.enum).toEqual([...AUDIT_EVENT_TYPES]);
  });
});
