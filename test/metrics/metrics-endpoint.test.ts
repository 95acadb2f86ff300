/**
 * `/metrics` of a hub started the way `tessera serve` starts it (`startHub`: SQLite store, keys
 * on disk, timed stores, the outbox worker), driven over real HTTP: who may read it, and that
 * handoffs, logins, revocations, back-channel deliveries, outbox depth, key age and store
 * latency show up with the right labels. Also the separate metrics listener.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { nowSeconds, systemClock } from '../../src/core/clock';
import { parseCookieValue } from '../../src/core/sessions/session';
import { mintHandoff } from '../../src/core/tokens/handoff';
import { silentLogger } from '../../src/log/logger';
import { openKeyring, startHub, type RunningHub } from '../../src/main';
import type { AdminScope } from '../../src/ports';
import { openStores, type OpenedStores } from '../../src/stores/open';
import { hashPassword } from '../../src/users/password';
import { CookieClient, csrfFrom } from '../support/client';
import { Browser } from '../hub/handoff-support';
import { eventually, parseExposition, sampleValue, type Sample } from './exposition';

const HUB = 'https://hub.example.com';
const SHOP = 'https://shop.example.net';
const sameOrigin = { origin: HUB, 'sec-fetch-site': 'same-origin' };
const password = 'correct horse battery staple';

function hubConfig(dir: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    env: {
      TESSERA_ENV: 'development',
      TESSERA_PUBLIC_URL: HUB,
      TESSERA_HOST: '127.0.0.1',
      TESSERA_PORT: '0',
      TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}`,
      TESSERA_KEYS_DIR: join(dir, 'keys'),
      TESSERA_LOG_LEVEL: 'silent',
      ...env,
    },
  }).config;
}

async function adminToken(stores: OpenedStores, ...scopes: AdminScope[]): Promise<string> {
  return (await stores.adminTokens.create({ name: 'prometheus', scopes, createdBy: 'cli', expiresAt: null })).token;
}

describe('GET /metrics on the public port', () => {
  let dir: string;
  let config: Config;
  let hub: RunningHub;
  let stores: OpenedStores;
  let site: http.Server;
  let metricsToken: string;

  const scrape = async (): Promise<Sample[]> => {
    const res = await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(res.status).toBe(200);
    return parseExposition(await res.text());
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-metrics-'));
    // An SDK site's back-channel logout endpoint that takes every logout token.
    site = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const www = `http://localhost:${(site.address() as AddressInfo).port}`;
    config = hubConfig(dir, {
      TESSERA_SITES: JSON.stringify([{ origin: SHOP }, { origin: www, backchannelLogoutUri: `${www}/bcl` }, { origin: 'http://localhost:1', backchannelLogoutUri: 'http://localhost:1/bcl' }]),
    });
    hub = await startHub(config, { logger: silentLogger() });
    stores = await openStores(config, systemClock, silentLogger());
    metricsToken = await adminToken(stores, 'metrics:read');
    await stores.users.create({ email: 'ada@example.com', passwordHash: await hashPassword(password) });
  });

  afterAll(async () => {
    await hub.stop();
    await stores.close();
    await new Promise<void>((resolve) => site.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('needs an admin token with the metrics:read scope', async () => {
    const none = await fetch(`${hub.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="tessera-admin"');
    expect(await none.text()).not.toContain('tessera_');

    const other = await adminToken(stores, 'sessions:read', 'audit:read');
    const forbidden = await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${other}` } });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ error: { code: 'ERR_FORBIDDEN' } });

    const ok = await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(ok.headers.get('cache-control')).toBe('no-store');
    const samples = parseExposition(await ok.text());
    expect(sampleValue(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(samples.some((s) => s.name.startsWith('nodejs_eventloop_lag'))).toBe(true);
    const active = samples.filter((s) => s.name === 'tessera_key_age_seconds' && s.labels.state === 'active');
    expect(active).toHaveLength(1);
    expect(active[0]!.labels.kid).toBe((await openKeyring(config, systemClock, silentLogger())).signingKey().kid);
    expect(active[0]!.value).toBeGreaterThanOrEqual(0);
    expect(active[0]!.value).toBeLessThan(600);
  });

  it('counts logins, handoffs, revocations and deliveries, and times the stores', async () => {
    const client = new CookieClient(hub.url);
    const failed = await client.post('/login', { _csrf: csrfFrom((await client.get('/login')).body), email: 'ada@example.com', password: 'not the password' }, sameOrigin);
    expect(failed.status).toBe(401);
    const link = await client.post('/login/link', { _csrf: csrfFrom((await client.get('/login')).body), token: 'A'.repeat(43) }, sameOrigin);
    expect(link.status).toBe(400);
    const signedIn = await client.post('/login', { _csrf: csrfFrom((await client.get('/login')).body), email: 'ada@example.com', password }, sameOrigin);
    // With sites configured, a sign-in answers the fan-out page (beacons to the sites).
    expect(signedIn.status).toBe(200);
    const sid = parseCookieValue(client.cookies.get('__Host-tessera'))!.sid;
    const user = (await stores.users.findByEmail('ada@example.com'))!;

    // The hub is shop.example.net's receiver: one beacon accepted, the same token again rejected.
    const keyring = await openKeyring(config, systemClock, silentLogger());
    const token = mintHandoff(keyring, { audience: SHOP, sid, sub: user.id, src: 'hub.example.com' }, { clock: systemClock, issuer: HUB });
    const browser = new Browser(hub.url);
    expect((await browser.get('shop.example.net', `/shared-session/${token}.js`, { referer: `${HUB}/` })).status).toBe(200);
    expect((await browser.get('shop.example.net', `/shared-session/${token}.js`, { referer: `${HUB}/` })).status).toBe(400);

    // The SDK site holds the session too, so signing out queues one back-channel logout.
    const www = config.sites[1]!.origin;
    await stores.sessions.linkSite(sid, { site: www, linkedAt: nowSeconds(systemClock), src: 'hub.example.com', secretHash: null, projectionKey: null });
    const signedOut = await client.post('/logout', { _csrf: csrfFrom((await client.get('/logout')).body) }, sameOrigin);
    expect(signedOut.status).toBe(200);

    let samples: Sample[] = [];
    await eventually(async () => {
      samples = await scrape();
      return sampleValue(samples, 'tessera_outbox_deliveries_total', { result: 'delivered' }) === 1;
    });
    expect(sampleValue(samples, 'tessera_logins_total', { method: 'password', result: 'failure' })).toBe(1);
    expect(sampleValue(samples, 'tessera_logins_total', { method: 'password', result: 'success' })).toBe(1);
    expect(sampleValue(samples, 'tessera_logins_total', { method: 'magic-link', result: 'failure' })).toBe(1);
    expect(sampleValue(samples, 'tessera_handoffs_total', { site: SHOP, result: 'accepted', reason: 'none' })).toBe(1);
    expect(sampleValue(samples, 'tessera_handoffs_total', { site: SHOP, result: 'rejected', reason: 'ERR_HANDOFF_REPLAYED' })).toBe(1);
    expect(samples.filter((s) => s.name === 'tessera_handoffs_total')).toHaveLength(2);
    expect(sampleValue(samples, 'tessera_revocations_total', { reason: 'user-logout' })).toBe(1);
    expect(sampleValue(samples, 'tessera_outbox_deliveries_total', { result: 'retry' })).toBe(0);

    const count = (store: string, operation: string) => sampleValue(samples, 'tessera_store_operation_seconds_count', { store, operation }) ?? 0;
    // The first beacon replaced the site's (empty) session; the replay met the cookie it set, so
    // only its jti was checked.
    expect(count('sessions', 'acceptHandoff')).toBe(1);
    expect(count('replay', 'rememberOnce')).toBe(1);
    expect(count('users', 'findByEmail')).toBeGreaterThanOrEqual(2);
    expect(count('outbox', 'enqueue')).toBe(1);
    expect(count('outbox', 'claim')).toBeGreaterThanOrEqual(1);
    const slowest = sampleValue(samples, 'tessera_store_operation_seconds_bucket', { store: 'sessions', operation: 'acceptHandoff', le: '+Inf' });
    expect(slowest).toBe(1);
  });

  it('shows the outbox depth once deliveries wait', async () => {
    const before = await scrape();
    expect(sampleValue(before, 'tessera_outbox_pending')).toBe(0);
    expect(sampleValue(before, 'tessera_outbox_failed')).toBe(0);
    // A site nobody answers for: each attempt fails and is scheduled again, so both stay pending.
    const gone = 'http://localhost:1/bcl';
    await stores.outbox.enqueue([
      { site: 'http://localhost:1', uri: gone, sid: 'a'.repeat(22), sub: null, reason: 'admin' },
      { site: 'http://localhost:1', uri: gone, sid: 'b'.repeat(22), sub: null, reason: 'admin' },
      // Queued for a site no longer in the configuration: dropped, and counted as such.
      { site: 'https://removed.example.org', uri: gone, sid: 'c'.repeat(22), sub: null, reason: 'admin' },
    ]);
    let samples: Sample[] = [];
    await eventually(async () => {
      samples = await scrape();
      return sampleValue(samples, 'tessera_outbox_deliveries_total', { result: 'retry' }) === 2 && sampleValue(samples, 'tessera_outbox_deliveries_total', { result: 'dropped' }) === 1;
    });
    expect(sampleValue(samples, 'tessera_outbox_pending')).toBe(2);
    expect(sampleValue(samples, 'tessera_outbox_failed')).toBe(0);
    expect(sampleValue(samples, 'tessera_outbox_oldest_pending_seconds')).toBeGreaterThanOrEqual(0);
  });
});

describe('the separate metrics listener (metrics.listen)', () => {
  let dir: string;
  let hub: RunningHub;
  let stores: OpenedStores;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-metrics-'));
    const config = hubConfig(dir, { TESSERA_METRICS_LISTEN: '127.0.0.1:0' });
    hub = await startHub(config, { logger: silentLogger() });
    stores = await openStores(config, systemClock, silentLogger());
  });

  afterAll(async () => {
    await hub.stop();
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves /metrics there without a token, and never on the public port', async () => {
    expect(hub.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(hub.metricsUrl).not.toBe(hub.url);
    const res = await fetch(`${hub.metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseExposition(await res.text());
    expect(sampleValue(samples, 'tessera_outbox_pending')).toBe(0);
    expect(sampleValue(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    const token = await adminToken(stores, 'metrics:read');
    const publicPort = await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(publicPort.status).toBe(404);
    expect(await publicPort.text()).not.toContain('tessera_');
  });

  it('serves nothing else: no hub page, no other path, no other method', async () => {
    expect((await fetch(`${hub.metricsUrl}/login`)).status).toBe(404);
    expect((await fetch(`${hub.metricsUrl}/readyz`)).status).toBe(404);
    expect((await fetch(`${hub.metricsUrl}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
