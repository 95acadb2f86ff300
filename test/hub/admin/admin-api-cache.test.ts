/**
 * Admin API answers carry people's e-mail addresses, client addresses, devices and session
 * handles: no cache, browser or proxy, may keep them (ASVS 5.0 V14.3.2), whether the request
 * was allowed or refused.
 */
import type { AdminScope } from '../../../src/ports';
import { startTestHub, testConfig, type TestHub } from '../../support/hub';

describe('admin API caching', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ config: testConfig({}) });
    await hub.deps.users.create({ email: 'ada@example.com' });
  });
  afterAll(() => hub.close());

  async function tokenWith(...scopes: AdminScope[]): Promise<string> {
    return (await hub.deps.adminTokens.create({ name: 'test', scopes, createdBy: 'cli', expiresAt: null })).token;
  }

  it.each([
    ['/users', 'users:read'],
    ['/sessions', 'sessions:read'],
    ['/audit', 'audit:read'],
    ['/outbox', 'outbox:read'],
    ['/keys', 'keys:read'],
  ] as const)('GET %s is no-store', async (path, scope) => {
    const res = await fetch(`${hub.url}/api/v1/admin${path}`, { headers: { authorization: `Bearer ${await tokenWith(scope)}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('a refused call is no-store too', async () => {
    const res = await fetch(`${hub.url}/api/v1/admin/users`, { headers: { authorization: `Bearer ${await tokenWith('sessions:read')}` } });
    expect(res.status).toBe(403);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});
