/**
 * agentFetch: the outbox worker's fetch over node:https with the caller's agent (a private CA),
 * driving the real worker against an HTTPS endpoint with the test certificate.
 */
import https from 'node:https';
import type { RequestListener } from 'node:http';
import { FrozenClock, nowSeconds } from '../../src/core/clock';
import { silentLogger } from '../../src/log/logger';
import { agentFetch } from '../../src/outbox/agent-fetch';
import { createOutboxWorker } from '../../src/outbox/worker';
import { openDatabase } from '../../src/stores/sqlite/database';
import { SqliteOutbox } from '../../src/stores/sqlite/outbox';
import { listenHttps, testTls, type HttpsServer, type Tls } from '../destination/support';

describe('agentFetch', () => {
  let tls: Tls;
  let server: HttpsServer;
  const listener: { current: RequestListener } = { current: () => undefined };

  beforeAll(async () => {
    tls = await testTls();
    server = await listenHttps(tls, listener);
  });
  afterAll(() => server.close());

  it('POSTs the form through the agent and reports the status', async () => {
    const bodies: string[] = [];
    listener.current = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(`${req.method} ${req.headers['content-type']} ${Buffer.concat(chunks).toString('utf8')}`);
        res.writeHead(204).end();
      });
    };
    const post = agentFetch(new https.Agent({ ca: tls.cert }));
    const reply = await post(`${server.url}/bcl`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'logout_token=abc' });
    expect(reply.status).toBe(204);
    expect(bodies).toEqual(['POST application/x-www-form-urlencoded logout_token=abc']);
    // Without the CA the certificate is refused: the agent is what makes it trusted.
    await expect(agentFetch(new https.Agent())(`${server.url}/bcl`, { method: 'POST', body: 'x' })).rejects.toThrow();
  });

  it('rejects with the reason of the signal on timeout, which the worker records as a timeout', async () => {
    listener.current = () => undefined; // never answers
    const clock = new FrozenClock(Date.UTC(2026, 10, 22, 12, 0, 0));
    const db = openDatabase(':memory:');
    const outbox = new SqliteOutbox(db, { clock });
    const worker = createOutboxWorker({
      outbox,
      clock,
      logger: silentLogger(),
      workerId: 'w',
      timeoutMs: 200,
      leaseSeconds: 5,
      fetch: agentFetch(new https.Agent({ ca: tls.cert })),
      mint: () => 'token',
      configuredSite: () => ({ backchannelLogoutUri: `${server.url}/bcl` }),
    });
    await outbox.enqueue([{ site: server.url, uri: `${server.url}/bcl`, sid: 's', sub: null, reason: 'admin' }]);
    expect(await worker.runOnce()).toBe(1);
    const [delivery] = (await outbox.list({}, { limit: 1 })).items;
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1, lastError: 'timeout after 200 ms' });
    expect(delivery!.nextAttemptAt).toBeGreaterThan(nowSeconds(clock));
    db.close();
  });
});
