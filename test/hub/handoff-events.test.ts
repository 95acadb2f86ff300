/**
 * `session_replaced`: emitted in-process and POSTed to the configured webhook, received here by
 * a real local HTTP server; a webhook that fails or hangs never affects the accepted handoff.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SessionReplacedEvent } from '../../src/core/receiver/receiver';
import { mintHandoff } from '../../src/core/tokens/handoff';
import { createHubEvents } from '../../src/hub/events';
import { createLogger } from '../../src/log/logger';
import { Browser, HUB, HUB_HOST, LogCapture, SHOP, SHOP_HOST, signedInSession, startHandoffHub, type HandoffHub } from './handoff-support';

interface Received {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

/** A webhook receiver on loopback answering `status`, or never answering when status is null. */
async function webhookServer(status: number | null) {
  const received: Received[] = [];
  let notify: () => void = () => {};
  const arrived = new Promise<void>((resolve) => (notify = resolve));
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
      notify();
      if (status !== null) res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/tessera`;
  return {
    url,
    received,
    arrived,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function beaconFor(hub: HandoffHub) {
  const signed = await signedInSession(hub);
  const token = mintHandoff(hub.deps.keyring, { audience: SHOP, sid: signed.record.sid, sub: signed.user.id, src: HUB_HOST }, { clock: hub.clock, issuer: HUB });
  const res = await new Browser(hub.url).get(SHOP_HOST, `/shared-session/${token}.js`, { referer: `${HUB}/` });
  return { signed, res };
}

describe('session_replaced', () => {
  it('reaches in-process listeners and the webhook as JSON', async () => {
    const webhook = await webhookServer(204);
    const hub = await startHandoffHub({ TESSERA_HANDOFF_WEBHOOK: webhook.url });
    try {
      const seen: SessionReplacedEvent[] = [];
      hub.deps.events.on('session_replaced', (e) => seen.push(e));
      const { signed, res } = await beaconFor(hub);
      expect(res.status).toBe(200);
      await webhook.arrived;
      const expected = { type: 'session_replaced', site: SHOP, src: HUB_HOST, sid: signed.record.sid, wasEmpty: true, at: Math.floor(hub.clock.now() / 1000) };
      expect(seen).toEqual([expected]);
      expect(webhook.received).toHaveLength(1);
      expect(webhook.received[0]).toMatchObject({ method: 'POST', url: '/hooks/tessera', contentType: 'application/json' });
      expect(JSON.parse(webhook.received[0]!.body)).toEqual(expected);
    } finally {
      await hub.close();
      await webhook.close();
    }
  });

  it.each([
    ['refuses the event', 500, 'webhook refused the event'],
    ['does not answer in time', null, 'webhook not reached'],
  ])('still accepts the handoff when the webhook %s, and logs it', async (_name, status, message) => {
    const webhook = await webhookServer(status);
    const logs = new LogCapture();
    const hub = await startHandoffHub({}, { events: createHubEvents({ webhookUrl: webhook.url, logger: createLogger({ level: 'info', destination: logs.stream }), webhookTimeoutMs: 200 }) });
    try {
      const { res } = await beaconFor(hub);
      expect(res.status).toBe(200);
      expect(res.setCookies).toHaveLength(1);
      await webhook.arrived;
      for (let i = 0; i < 100 && !logs.lines.some((l) => l.msg === message); i += 1) await new Promise((r) => setTimeout(r, 20));
      expect(logs.lines.filter((l) => l.msg === message)).toHaveLength(1);
    } finally {
      await hub.close();
      await webhook.close();
    }
  });

  it('does not let a throwing listener fail the handoff', async () => {
    const hub = await startHandoffHub();
    try {
      hub.deps.events.on('session_replaced', () => {
        throw new Error('listener bug');
      });
      const { res } = await beaconFor(hub);
      expect(res.status).toBe(200);
      expect(res.setCookies).toHaveLength(1);
    } finally {
      await hub.close();
    }
  });
});
