/**
 * `logRequestEvent`, the hot paths' way to write a line for a request: the same line, byte for
 * byte, as the request's child logger would write, and still censored when any field is one the
 * redaction paths cover.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { logRequestEvent, requestContext, type LogValue } from '../../src/hub/middleware/request-context';
import { createLogger } from '../../src/log/logger';

async function requestWith(fields: Record<string, LogValue>): Promise<{ lines: string[]; requestId: string }> {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
  const app = new Koa();
  app.use(requestContext(logger));
  app.use((ctx) => {
    logRequestEvent(ctx, 'info', fields, 'event line');
    // The same line through the request's child logger, for comparison.
    ctx.state.log.info(fields, 'event line');
    ctx.body = 'ok';
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const requestId = await new Promise<string>((resolve, reject) => {
      http.get({ port, path: '/', headers: { 'x-request-id': 'probe-request-0001' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.headers['x-request-id'])));
      }).on('error', reject);
    });
    return { lines, requestId };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A line without its timestamp, which differs between two lines written a moment apart. */
const untimed = (line: string) => line.replace(/"time":"[^"]*"/, '"time":""');

describe('logRequestEvent', () => {
  it('writes exactly what the request logger writes, request id included', async () => {
    const { lines, requestId } = await requestWith({ event: 'handoff', result: 'accepted', via: 'beacon', sid: 'AAAAAAAAAAAAAAAAAAAAAA', count: 2, kept: false });
    expect(requestId).toBe('probe-request-0001');
    const [fast, child] = lines.filter((line) => line.includes('event line'));
    expect(untimed(fast!)).toBe(untimed(child!));
    expect(JSON.parse(fast!)).toMatchObject({ requestId, event: 'handoff', sid: 'AAAAAAAAAAAAAAAAAAAAAA', msg: 'event line' });
  });

  it('still censors a field the redaction paths cover', async () => {
    const { lines } = await requestWith({ event: 'x', token: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln', cookie: 'sid.secret' });
    const [fast, child] = lines.filter((line) => line.includes('event line'));
    expect(fast).not.toContain('eyJhbGciOiJSUzI1NiJ9');
    expect(fast).not.toContain('sid.secret');
    expect(JSON.parse(fast!)).toMatchObject({ token: '[redacted]', cookie: '[redacted]' });
    expect(untimed(fast!)).toBe(untimed(child!));
  });
});
