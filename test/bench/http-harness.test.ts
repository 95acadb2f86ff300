/**
 * The benchmark harness's own logic (bench/http-harness.js): the paced client's HTTP reading
 * (every request answered once, status and Content-Length honoured across split reads, non-2xx
 * and unreadable answers refused) against a real loopback server, and what `limitOf` blames a
 * figure on. Counts and verdicts only: no timing is asserted.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

interface Request {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}
interface Run {
  rps: number;
  requests: number;
  generator: string;
  offeredRps: number;
  serverRequests: number;
}
type Summary = Record<string, number | string | null>;
interface Harness {
  paced(server: { url: string; cpu(): Promise<object> }, options: { request: Request; rate: number }): Promise<Run>;
  limitOf(summary: Summary, rate?: number): string;
}

// bench/ is plain CommonJS run by node, outside the TypeScript build: loaded as node would.
const harness = createRequire(__filename)('../../bench/http-harness.js') as Harness;

/** What a loopback server saw: every request's method, path, Host and body. */
interface Seen {
  method: string | undefined;
  url: string | undefined;
  host: string | undefined;
  cookie: string | undefined;
  body: string;
}

async function listen(handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, host: req.headers.host, cookie: req.headers.cookie, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The harness reads a benchmark server's CPU before and after a run; a plain server has none.
  const target = { url, cpu: async () => ({ cpuUs: 0, handled: seen.length, atMs: performance.now(), waitUs: null }) };
  return { target, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('harness.paced (the fixed-rate client)', () => {
  // BENCH_HTTP_ROUND_SECONDS defaults to 1: a rate of 200 is 200 requests.
  const rate = 200;

  it('sends every request once, with its method, path, headers and body, and reads every answer', async () => {
    const server = await listen((_req, res, body) => {
      // Head and body in separate writes, a body of a few kilobytes: the client must join reads.
      res.setHeader('Content-Length', String(4096 + body.length));
      res.write('x'.repeat(2048));
      setImmediate(() => res.end('y'.repeat(2048) + body));
    });
    try {
      const request = { method: 'POST', path: '/shared-session/session.json?q=1', headers: { host: 'shop.example.net', cookie: 'tessera_session=a.b' }, body: '{"sid":"s"}' };
      const run = await harness.paced(server.target, { request, rate });
      expect(run.requests).toBe(rate);
      expect(run.generator).toBe('paced');
      expect(run.serverRequests).toBe(rate);
      expect(run.offeredRps).toBeGreaterThan(0);
      expect(server.seen).toHaveLength(rate);
      for (const seen of server.seen) {
        expect(seen).toEqual({ method: 'POST', url: '/shared-session/session.json?q=1', host: 'shop.example.net', cookie: 'tessera_session=a.b', body: '{"sid":"s"}' });
      }
    } finally {
      await server.close();
    }
  });

  it('uses the server address as Host when the request names none, and reads bodiless answers', async () => {
    const server = await listen((_req, res) => {
      res.statusCode = 204;
      res.end();
    });
    try {
      const run = await harness.paced(server.target, { request: { path: '/' }, rate });
      expect(run.requests).toBe(rate);
      expect(new Set(server.seen.map((s) => s.host))).toEqual(new Set([new URL(server.target.url).host]));
    } finally {
      await server.close();
    }
  });

  it('fails the run when answers are not 2xx', async () => {
    const server = await listen((_req, res) => {
      res.statusCode = 401;
      res.end('{}');
    });
    try {
      await expect(harness.paced(server.target, { request: { path: '/' }, rate })).rejects.toThrow(`${rate} of ${rate} paced requests failed or were not 2xx`);
    } finally {
      await server.close();
    }
  });

  it('fails, rather than waits, when it cannot connect', async () => {
    const server = await listen((_req, res) => res.end());
    await server.close();
    await expect(harness.paced(server.target, { request: { path: '/' }, rate })).rejects.toThrow('ECONNREFUSED');
  });

  it('refuses answers it cannot delimit (no Content-Length)', async () => {
    const server = await listen((_req, res) => {
      // Chunked: node writes no Content-Length for a body written in parts without one.
      res.write('a');
      res.end('b');
    });
    try {
      await expect(harness.paced(server.target, { request: { path: '/' }, rate })).rejects.toThrow('without Content-Length');
    } finally {
      await server.close();
    }
  });
});

describe('harness.limitOf (what limited a figure)', () => {
  const base: Summary = {
    generator: 'wrk',
    rps: 3000,
    serverCpu: 0.5,
    serverWait: 0,
    clientCpu: 0.1,
    clientWait: null,
    cpuPerRequestUs: 150,
    offeredRps: null,
    lateP99: null,
    rate: null,
  };

  it('blames Tessera when the server used its whole core', () => {
    expect(harness.limitOf({ ...base, serverCpu: 0.97 })).toMatch(/^limited by Tessera's cost: the server's one core was 97 % busy at 150 µs CPU\/request$/);
  });

  it('blames the machine when the generator was saturated, or other processes held the server core', () => {
    expect(harness.limitOf({ ...base, clientCpu: 0.92 })).toMatch(/^limited by the machine: the load generator \(wrk\) used 92 %/);
    expect(harness.limitOf({ ...base, serverCpu: 0.4, serverWait: 0.55 })).toMatch(/^limited by the machine: the server's core was 40 % busy with it and held by other processes 55 %/);
  });

  it('for a paced run: the client falling short, the server keeping up, or a rate beyond one core', () => {
    const paced = { ...base, generator: 'paced', rate: 10000, offeredRps: 9990, clientWait: 0 };
    expect(harness.limitOf({ ...paced, offeredRps: 4300 })).toMatch(/^limited by the machine: the paced client sent only 4,300 of the 10,000 req\/s asked/);
    expect(harness.limitOf({ ...paced, rps: 9900 })).toMatch(/^not limited: the client sent 10,000 req\/s and the server kept up/);
    expect(harness.limitOf({ ...paced, rps: 3000 })).toMatch(/^limited by Tessera's cost: 10,000 req\/s at 150 µs CPU\/request is 1\.5 cores at 100 %/);
    expect(harness.limitOf({ ...paced, rps: 3000, cpuPerRequestUs: 50, serverWait: 0.5 })).toMatch(/^limited by the machine: the server's core was 50 % busy with it and held by other processes 50 %/);
  });
});
