/**
 * The optional metrics listener (`metrics.listen`, e.g. `127.0.0.1:9464`): `GET /metrics` on an
 * address of its own, without authentication, for a Prometheus that scrapes over a private
 * network or loopback. When it is configured the public port answers `/metrics` with 404, so the
 * figures are reachable in exactly one place. Everything else here is 404; nothing of the hub
 * (cookies, sessions, admin) is served on this address.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger';
import type { HubMetrics } from './hub-metrics';

export interface MetricsListener {
  /** `http://host:port` actually bound (the port read back when 0 was configured). */
  url: string;
  close(): Promise<void>;
}

/** Answers one scrape: the registry's text exposition, never cached. */
export async function writeExposition(metrics: HubMetrics): Promise<{ contentType: string; body: string }> {
  return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
}

/**
 * Listens on `address` and resolves once bound.
 *
 * @example
 * const listener = await startMetricsListener(metrics, { host: '127.0.0.1', port: 9464 }, logger);
 * await listener.close();
 */
export async function startMetricsListener(metrics: HubMetrics, address: { host: string; port: number }, logger: Logger): Promise<MetricsListener> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    writeExposition(metrics).then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'Content-Type': contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        logger.error({ err }, 'metrics scrape failed');
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const url = `http://${host}:${port}`;
  logger.info({ url }, 'metrics listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        // A scrape in flight finishes; idle keep-alive connections (Prometheus keeps one) end now.
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
