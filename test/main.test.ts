/**
 * The composition root's revocation wiring: `startHub` runs the outbox worker and hands its kick
 * to the hub, so a revocation through the site API reaches a site's back-channel endpoint at
 * once (not at the next poll), with a logout token minted by the hub's keyring.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load';
import { FrozenClock, nowSeconds, systemClock } from '../src/core/clock';
import { createSessionRecord } from '../src/core/sessions/session';
import { silentLogger } from '../src/log/logger';
import { createDeliveryWorker, openKeyring, startHub } from '../src/main';
import { openStores } from '../src/stores/open';

const credential = 'site-credential-for-main-test-0123';

describe('the hub process: back-channel logout wiring', () => {
  let dir: string;
  let site: http.Server;
  let received: { path: string | undefined; body: string; at: number }[];
  let answer: number;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-main-'));
    received = [];
    answer = 200;
    site = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => site.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a revocation is POSTed to the site at once, as a logout token for its session', async () => {
    const siteOrigin = `http://localhost:${(site.address() as AddressInfo).port}`;
    const env = {
      TESSERA_ENV: 'development',
      TESSERA_PUBLIC_URL: 'https://hub.example.com',
      TESSERA_HOST: '127.0.0.1',
      TESSERA_PORT: '0',
      TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}`,
      TESSERA_KEYS_DIR: join(dir, 'keys'),
      TESSERA_LOG_LEVEL: 'silent',
      TESSERA_OUTBOX_POLL_INTERVAL_MS: '600000',
      TESSERA_SITES: JSON.stringify([
        { origin: siteOrigin, backchannelLogoutUri: `${siteOrigin}/shared-session/backchannel-logout`, credentialHash: createHash('sha256').update(credential).digest('hex') },
      ]),
    };
    const config = loadConfig({ env }).config;
    const hub = await startHub(config, { logger: silentLogger() });
    const stores = await openStores(config, systemClock, silentLogger());
    try {
      const user = await stores.users.create({ email: 'main@example.com' });
      // Three in a row, with a poll interval far beyond the wait: each delivery is the kick's.
      for (let i = 0; i < 3; i += 1) {
        const { record } = createSessionRecord({ userId: user.id, ip: null, userAgent: null, now: nowSeconds(systemClock) }, config.sessions);
        await stores.sessions.create(record);
        await stores.sessions.linkSite(record.sid, { site: siteOrigin, linkedAt: record.createdAt, src: 'hub.example.com', secretHash: null, projectionKey: null });

        const reply = await fetch(`${hub.url}/api/v1/sites/logout`, {
          method: 'POST',
          headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
          body: JSON.stringify({ sid: record.sid }),
        });
        expect(reply.status).toBe(204);
        const deadline = Date.now() + 5000;
        while (received.length === i && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
        expect(received).toHaveLength(i + 1);
        const token = new URLSearchParams(received[i]!.body).get('logout_token')!;
        const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>);
        expect(header).toMatchObject({ typ: 'logout+jwt' });
        expect(payload).toMatchObject({ iss: 'https://hub.example.com', aud: siteOrigin, sid: record.sid, sub: user.id });
      }
      const actors = (await stores.audit.query({ type: 'session.revoked' }, { limit: 5 })).items.map((e) => e.actor);
      expect(actors).toEqual([`site:${siteOrigin}`, `site:${siteOrigin}`, `site:${siteOrigin}`]);
    } finally {
      await stores.close();
      await hub.stop();
    }
  });

  /** The configuration of a delivery worker over this test's directory, with `sites`. */
  function workerConfig(sites: object[]) {
    return loadConfig({
      env: {
        TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}`,
        TESSERA_KEYS_DIR: join(dir, 'keys'),
        TESSERA_LOG_LEVEL: 'silent',
        TESSERA_PUBLIC_URL: 'https://hub.example.com',
        TESSERA_SITES: JSON.stringify(sites),
      },
    }).config;
  }

  it('a delivery the worker gives up on is recorded in the audit log as outbox.gave_up', async () => {
    answer = 400;
    const siteOrigin = `http://localhost:${(site.address() as AddressInfo).port}`;
    const config = workerConfig([{ origin: siteOrigin, backchannelLogoutUri: `${siteOrigin}/shared-session/backchannel-logout` }]);
    const clock = new FrozenClock(Date.UTC(2026, 10, 22, 12, 0, 0));
    const stores = await openStores(config, clock, silentLogger());
    try {
      const keyring = await openKeyring(config, clock, silentLogger());
      const sid = randomBytes(16).toString('base64url');
      const worker = createDeliveryWorker(config, clock, silentLogger(), stores, keyring);
      await stores.outbox.enqueue([{ site: siteOrigin, uri: `${siteOrigin}/shared-session/backchannel-logout`, sid, sub: 'user-1', reason: 'admin' }]);
      // A site that refuses (400) gets three attempts.
      for (let attempt = 0; attempt < 3; attempt += 1) {
        expect(await worker.runOnce()).toBe(1);
        clock.advance(3600_000);
      }
      expect(received).toHaveLength(3);
      await new Promise((resolve) => setImmediate(resolve));
      const [event] = (await stores.audit.query({ type: 'outbox.gave_up' }, { limit: 5 })).items;
      expect(event).toMatchObject({ actor: 'system', sid, userId: 'user-1', site: siteOrigin, reason: 'admin', details: { attempts: 3, error: 'HTTP 400' } });
      expect((await stores.outbox.list({ status: 'failed' }, { limit: 5 })).items).toHaveLength(1);
    } finally {
      await stores.close();
    }
  });

  it('sends each delivery where the configuration of the instance sending it says: the current URI, or nowhere for a removed site', async () => {
    const siteOrigin = `http://localhost:${(site.address() as AddressInfo).port}`;
    const removed = 'https://removed.example.org';
    // The site moved its endpoint since the deliveries were queued; `removed` is gone.
    const config = workerConfig([{ origin: siteOrigin, backchannelLogoutUri: `${siteOrigin}/v2/backchannel-logout` }]);
    const clock = new FrozenClock(Date.UTC(2026, 10, 22, 12, 0, 0));
    const stores = await openStores(config, clock, silentLogger());
    try {
      const keyring = await openKeyring(config, clock, silentLogger());
      const worker = createDeliveryWorker(config, clock, silentLogger(), stores, keyring);
      await stores.outbox.enqueue([
        { site: siteOrigin, uri: `${siteOrigin}/shared-session/backchannel-logout`, sid: 'a'.repeat(22), sub: 'user-1', reason: 'admin' },
        { site: removed, uri: `${siteOrigin}/removed/backchannel-logout`, sid: 'b'.repeat(22), sub: 'user-1', reason: 'admin' },
      ]);
      expect(await worker.runOnce()).toBe(2);
      expect(received.map((r) => r.path)).toEqual(['/v2/backchannel-logout']);
      const rows = (await stores.outbox.list({}, { limit: 5 })).items.map((d) => [d.site, d.uri, d.status, d.lastError]);
      expect(rows).toEqual([
        [removed, `${siteOrigin}/removed/backchannel-logout`, 'dropped', 'site not configured'],
        [siteOrigin, `${siteOrigin}/v2/backchannel-logout`, 'delivered', null],
      ]);
      // The drop is audited, as a give-up is.
      await new Promise((resolve) => setImmediate(resolve));
      const [dropped] = (await stores.outbox.list({ status: 'dropped' }, { limit: 5 })).items;
      expect((await stores.audit.query({ type: 'outbox.dropped' }, { limit: 5 })).items).toEqual([
        expect.objectContaining({ actor: 'system', userId: 'user-1', sid: 'b'.repeat(22), site: removed, reason: 'admin', details: { delivery: dropped!.id, why: 'site not configured' } }),
      ]);
    } finally {
      await stores.close();
    }
  });
});
