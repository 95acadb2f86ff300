import { TesseraError } from '../../src/core/errors';
import type { ReadinessCheck } from '../../src/ports';
import { startTestHub, type TestHub } from '../support/hub';

describe('GET /healthz and /readyz', () => {
  let hub: TestHub;
  let storeUp = true;
  let outboxUp = true;
  const flakyStore: ReadinessCheck = {
    store: 'sessions',
    ping: async () => {
      if (!storeUp) throw new TesseraError('ERR_STORE_UNAVAILABLE', 'session store unavailable', { cause: new Error('connect ECONNREFUSED redis://:hunter2@10.0.0.9:6379') });
    },
  };
  const flakyOutbox: ReadinessCheck = {
    store: 'outbox',
    ping: async () => {
      if (!outboxUp) throw new Error('SQLITE_IOERR');
    },
  };

  beforeAll(async () => {
    hub = await startTestHub({ readiness: [flakyStore, { store: 'users', ping: async () => undefined }, flakyOutbox] });
  });
  afterAll(() => hub.close());

  it('healthz answers 200 whatever the stores do', async () => {
    storeUp = false;
    const res = await fetch(`${hub.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('readyz answers 200 when every store answers, 503 naming the stores that do not, and recovers', async () => {
    storeUp = true;
    const up = await fetch(`${hub.url}/readyz`);
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ status: 'ready' });

    storeUp = false;
    const down = await fetch(`${hub.url}/readyz`);
    expect(down.status).toBe(503);
    const text = await down.text();
    expect(JSON.parse(text)).toEqual({ status: 'unavailable', code: 'ERR_STORE_UNAVAILABLE', failed: ['sessions'] });
    // The driver's message (hosts, credentials in a URL) stays out of the answer.
    expect(text).not.toMatch(/hunter2|10\.0\.0\.9|ECONNREFUSED/);
    expect(down.headers.get('cache-control')).toBe('no-store');

    outboxUp = false;
    const both = await fetch(`${hub.url}/readyz`);
    expect(await both.json()).toMatchObject({ failed: ['sessions', 'outbox'] });

    storeUp = true;
    outboxUp = true;
    const again = await fetch(`${hub.url}/readyz`);
    expect(again.status).toBe(200);
  });
});

describe('hub error handling and headers', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub.close());

  it('answers unknown paths with 404 and a stable code, in JSON or HTML by Accept', async () => {
    const json = await fetch(`${hub.url}/nope`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(404);
    expect(await json.json()).toEqual({ error: { code: 'ERR_NOT_FOUND', message: 'Not found' } });
    const html = await fetch(`${hub.url}/nope`, { headers: { accept: 'text/html' } });
    expect(html.status).toBe(404);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await html.text()).toContain('ERR_NOT_FOUND');
  });

  it('sets the security headers on every response', async () => {
    const res = await fetch(`${hub.url}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    // publicUrl is https in the test config, so HSTS is on.
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
  });

  it('keeps a safe incoming request id and replaces an unsafe one', async () => {
    const kept = await fetch(`${hub.url}/healthz`, { headers: { 'x-request-id': 'abcdef123456' } });
    expect(kept.headers.get('x-request-id')).toBe('abcdef123456');
    const replaced = await fetch(`${hub.url}/healthz`, { headers: { 'x-request-id': 'bad id<script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  it('refuses methods a route does not have', async () => {
    const res = await fetch(`${hub.url}/healthz`, { method: 'POST' });
    expect(res.status).toBe(405);
  });
});
