/**
 * Issue 7, "Faults": oversized requests — a 10 MB body, a 64 KB cookie, huge headers — are
 * refused early (413 / 431) by the hub process, without reading what it refuses, while another
 * client's ordinary requests keep their usual latency. Requests are written on raw sockets, so
 * the test sees exactly when the answer comes and when the hub stops reading.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHubProcess, type HubProcess } from '../support/hub-process';
import { HUB_HOST, HubBrowser, SHOP_HOST, faultHubEnv, sleep, waitUntil } from './support';

jest.setTimeout(60_000);

const MB = 1024 * 1024;
const tenMegabytes = 10 * MB;

interface RawAnswer {
  /** Status of the answer (0: none came). */
  status: number;
  /** Body bytes the client had handed to the socket when the answer's first byte arrived. */
  sentAtAnswer: number;
  /** Body bytes handed to the socket before the hub closed the connection (or all of them). */
  sentTotal: number;
  /** Milliseconds from the first byte sent to the answer. */
  ms: number;
}

/**
 * Sends `head` (request line and headers, without the blank line), then up to `bodyBytes` of
 * body (chunked encoding when `chunked`) as fast as the socket takes it, or at most
 * `bytesPerSecond`, and resolves once the connection is closed — by the hub, or by us when the
 * upload is done, 5 s after the answer came, or (`stopOnAnswer`) as soon as it came.
 */
function rawRequest(port: number, head: string, bodyBytes = 0, chunked = false, bytesPerSecond = Infinity, stopOnAnswer = false): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const started = performance.now();
    const answer: RawAnswer = { status: 0, sentAtAnswer: 0, sentTotal: 0, ms: 0 };
    let received = '';
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(15_000, finish);
    socket.on('data', (chunk: Buffer) => {
      if (answer.status !== 0) return;
      received += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(received);
      if (match === null) return;
      answer.status = Number(match[1]);
      answer.sentAtAnswer = answer.sentTotal;
      answer.ms = performance.now() - started;
      // As curl does: an answer before the upload is done ends the upload.
      if (stopOnAnswer) finish();
      // An upload the hub never stops reading goes on to its end; a slow one may take a while.
      setTimeout(finish, 5000).unref();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.once('connect', () => {
      socket.write(`${head}\r\n\r\n`);
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (!finished && answer.sentTotal < bodyBytes) {
          const size = Math.min(chunk.length, bodyBytes - answer.sentTotal);
          const piece = chunk.subarray(0, size);
          const flushed = chunked ? socket.write(`${size.toString(16)}\r\n`) && socket.write(piece) && socket.write('\r\n') : socket.write(piece);
          answer.sentTotal += size;
          if (bytesPerSecond !== Infinity) {
            setTimeout(pump, (1000 * size) / bytesPerSecond);
            return;
          }
          if (!flushed) {
            socket.once('drain', pump);
            return;
          }
        }
        if (!finished && chunked && bodyBytes > 0) socket.write('0\r\n\r\n');
        // The whole body is out: the answer is all that can still come.
        if (!finished && answer.status !== 0) finish();
      };
      pump();
    });
  });
}

/**
 * Eight abusers against the hub on port `argv[1]`, each cycling through a 10 MB body with
 * Content-Length, a 10 MB chunked body, a 64 KB cookie and 32 KB of headers, each on a new
 * connection. Prints "ready" once started and, when its standard input closes, how many were
 * refused with 413 or 431.
 */
const abuserScript = `
const net = require('node:net');
const port = Number(process.argv[1]);
let running = true;
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => { running = false; });
const big = Buffer.alloc(64 * 1024, 'a');
const heads = [
  'POST /login HTTP/1.1\\r\\nHost: hub.example.com\\r\\nContent-Type: application/x-www-form-urlencoded\\r\\nContent-Length: 10485760\\r\\n\\r\\n',
  'POST /login HTTP/1.1\\r\\nHost: hub.example.com\\r\\nContent-Type: application/x-www-form-urlencoded\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n',
  'GET /login HTTP/1.1\\r\\nHost: hub.example.com\\r\\nCookie: a=' + 'a'.repeat(65536) + '\\r\\n\\r\\n',
  'GET /login HTTP/1.1\\r\\nHost: hub.example.com\\r\\n' + Array.from({ length: 320 }, (_, n) => 'X-Padding-' + n + ': ' + 'b'.repeat(90) + '\\r\\n').join('') + '\\r\\n',
];
let refused = 0;
const once = (kind) => new Promise((resolve) => {
  const socket = net.connect({ host: '127.0.0.1', port });
  let sent = 0;
  let done = false;
  const finish = () => { if (!done) { done = true; socket.destroy(); resolve(); } };
  socket.setTimeout(5000, finish);
  socket.on('error', finish);
  socket.on('close', finish);
  socket.on('data', (d) => { if (/^HTTP\\/1\\.1 (413|431)/.test(d.toString('latin1'))) refused += 1; finish(); });
  socket.once('connect', () => {
    socket.write(heads[kind]);
    if (kind > 1) return;
    const pump = () => {
      while (!done && sent < 10485760) {
        sent += big.length;
        const ok = kind === 1 ? socket.write('10000\\r\\n') && socket.write(big) && socket.write('\\r\\n') : socket.write(big);
        if (!ok) return socket.once('drain', pump);
      }
    };
    pump();
  });
});
console.log('ready');
Promise.all(Array.from({ length: 8 }, async (_, i) => { while (running) await once(i % 4); })).then(() => console.log(refused));
`;

const post = (path: string, host: string, headers: string[]) => [`POST ${path} HTTP/1.1`, `Host: ${host}`, 'Content-Type: application/x-www-form-urlencoded', ...headers].join('\r\n');
const get = (path: string, headers: string[]) => [`GET ${path} HTTP/1.1`, `Host: ${HUB_HOST}`, 'Accept: text/html', ...headers].join('\r\n');

describe('oversized requests', () => {
  let hub: HubProcess | undefined;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-fault-size-'));
    hub = await startHubProcess(faultHubEnv(dir, { TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}` }), 20_000, { cwd: dir });
    port = Number(new URL(hub.url).port);
  });

  afterAll(async () => {
    await hub?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('a 10 MB body is answered 413 before it is uploaded, and the hub stops reading it', () => {
    it.each([
      ['POST /login, Content-Length', '/login', HUB_HOST, false],
      ['POST /login, chunked', '/login', HUB_HOST, true],
      ["POST a site's accept, Content-Length", '/shared-session/accept', SHOP_HOST, false],
      ["POST a site's accept, chunked", '/shared-session/accept', SHOP_HOST, true],
    ])('%s', async (_name, path, host, chunked) => {
      const length = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${tenMegabytes}`;
      const answer = await rawRequest(port, post(path, host, [length]), tenMegabytes, chunked, Infinity, true);
      expect(answer.status).toBe(413);
      // Answered before the upload could finish: nothing waited for (or kept) the body. How much
      // the client had written by then is mostly loopback socket buffers (several MB, more when
      // the machine is busy and the hub reads later), so the bound is the whole body; that the
      // hub stops reading is the next test's.
      expect(answer.sentAtAnswer).toBeLessThan(tenMegabytes);
      expect(answer.ms).toBeLessThan(5000);
    });

    // A client that streams on after the answer (here at 2 MB/s, 5 s for 10 MB) is cut off
    // once the lingering time (2 s) or byte budget (1 MiB) is spent, rather than read to the end.
    it.each([
      ['POST /login, Content-Length', '/login', [`Content-Length: ${tenMegabytes}`], false, 413],
      ['POST /login, chunked', '/login', ['Transfer-Encoding: chunked'], true, 413],
      ['a page that reads no body (404)', '/no-such-page', [`Content-Length: ${tenMegabytes}`], false, 404],
      ['a GET-only page (405)', '/healthz', ['Transfer-Encoding: chunked'], true, 405],
    ])('%s: answered at once, connection closed within the lingering time or byte budget', async (_name, path, headers, chunked, status) => {
      const started = performance.now();
      const answer = await rawRequest(port, post(path, HUB_HOST, headers), tenMegabytes, chunked, 2 * MB);
      expect(answer.status).toBe(status);
      expect(answer.ms).toBeLessThan(5000);
      expect(answer.sentTotal).toBeLessThan(tenMegabytes * 0.75);
      expect(performance.now() - started).toBeLessThan(10000);
    });
  });

  describe('headers beyond 16 KiB are answered 431 before Koa sees them', () => {
    it('a 64 KB cookie', async () => {
      const answer = await rawRequest(port, get('/login', [`Cookie: __Host-tessera=${'a'.repeat(64 * 1024)}`]));
      expect(answer.status).toBe(431);
    });

    it('many headers adding up to 32 KB', async () => {
      const headers = Array.from({ length: 320 }, (_, i) => `X-Padding-${i}: ${'b'.repeat(90)}`);
      expect((await rawRequest(port, get('/login', headers))).status).toBe(431);
    });

    it('the limit is the server option of 16 KiB: 15 KB of headers pass, 17 KB do not', async () => {
      expect((await rawRequest(port, get('/login', ['Connection: close', `X-Padding: ${'c'.repeat(15 * 1024)}`]))).status).toBe(200);
      expect((await rawRequest(port, get('/login', ['Connection: close', `X-Padding: ${'c'.repeat(17 * 1024)}`]))).status).toBe(431);
    });
  });

  it("another client's requests keep succeeding with their usual latency during the abuse", async () => {
    const client = new HubBrowser(hub!.url, 5000);
    const measure = async (ms: number): Promise<number[]> => {
      const latencies: number[] = [];
      const end = performance.now() + ms;
      while (performance.now() < end) {
        const reply = await client.get(HUB_HOST, '/login');
        expect(reply.status).toBe(200);
        latencies.push(reply.ms);
        await sleep(10);
      }
      return latencies;
    };
    const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!;

    const baseline = await measure(1500);
    // The abusers run in a process of their own, so their sockets do not slow this client's
    // event loop: what is measured is the hub.
    const abuse = spawn(process.execPath, ['-e', abuserScript, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let output = '';
    abuse.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const abuseEnded = new Promise<void>((resolve) => abuse.once('exit', () => resolve()));
    await waitUntil('the abusers started', () => output.startsWith('ready'), 15_000);
    await sleep(200);
    const during = await measure(3000);
    abuse.stdin.end();
    await abuseEnded;
    const refused = Number(output.slice('ready'.length).trim());

    expect(refused).toBeGreaterThanOrEqual(10);
    expect(during.length).toBeGreaterThanOrEqual(20);
    // Usual latency: the median and the 95th percentile stay within a few times the quiet ones
    // (plus a margin for a shared two-core machine), never seconds.
    const [p50, p95] = [quantile(during, 0.5), quantile(during, 0.95)];
    expect(p50).toBeLessThan(5 * quantile(baseline, 0.5) + 100);
    expect(p95).toBeLessThan(5 * quantile(baseline, 0.95) + 400);
    console.info(
      `oversized: ${refused} abusive requests refused in 3.2 s; other client p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (quiet: p50 ${quantile(baseline, 0.5).toFixed(1)}, p95 ${quantile(baseline, 0.95).toFixed(1)})`,
    );
  });
});
