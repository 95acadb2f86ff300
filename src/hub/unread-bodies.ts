/**
 * Lingering close for request bodies the hub answered without reading to the end: a 413 for a
 * body over `limits.maxBodyBytes`, a 404 or 405 that reads no body at all (SECURITY.md
 * "Resilience": oversized requests refused early, without affecting other clients).
 *
 * Node, to keep such a connection alive, reads and discards the rest of the body after the
 * answer — for as long as the client keeps sending. Closing at once instead (`Connection: close`)
 * resets a connection whose client is still uploading, and the reset often destroys the answer
 * before the client reads it (Node's own http client loses the 413 about one time in three).
 * So, like nginx's `lingering_close`: the answer goes out and the rest of the body is
 * discarded, for at most `lingerMs` and `lingerBytes`. Past the byte budget the hub stops
 * reading (TCP holds the client back) and closes once `minLingerMs` have passed since the
 * answer, so even a fast sender has had the time to read it; the connection is closed in any
 * case after `lingerMs`. A client that finishes a small upload keeps its connection. The byte
 * budget keeps a flood of 10 MB uploads from costing the other clients their latency
 * (test/faults/oversized.test.ts measures both).
 */
import type http from 'node:http';

export interface LingerOptions {
  /** How long the rest of an unread body may keep arriving after the answer. Default 2000. */
  lingerMs?: number;
  /** How much of it is discarded before the hub stops reading it. Default 1 MiB. */
  lingerBytes?: number;
  /** How long after the answer the connection stays open at least (for the client to read it). Default 250. */
  minLingerMs?: number;
}

/**
 * Applies the lingering close to every request `server` answers.
 *
 * @example
 * const server = http.createServer(app.callback());
 * lingerOnUnreadBodies(server);
 */
export function lingerOnUnreadBodies(server: http.Server, options: LingerOptions = {}): void {
  const { lingerMs = 2000, lingerBytes = 1024 * 1024, minLingerMs = 250 } = options;
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    // 'prefinish' (the answer is handed to the socket) comes before Node's own 'finish' handler,
    // which would switch an unread body to a dump that no listener can count.
    res.once('prefinish', () => {
      if (req.complete) return;
      const answeredAt = Date.now();
      let discarded = 0;
      const close = () => req.socket.destroy();
      const timer = setTimeout(close, lingerMs);
      let early: NodeJS.Timeout | undefined;
      timer.unref();
      // Counted and dropped as it comes, never kept.
      const onData = (chunk: Buffer) => {
        discarded += chunk.length;
        if (discarded <= lingerBytes || early !== undefined) return;
        req.off('data', onData);
        req.pause();
        early = setTimeout(close, Math.max(0, answeredAt + minLingerMs - Date.now()));
        early.unref();
      };
      const done = () => {
        clearTimeout(timer);
        clearTimeout(early);
        req.off('data', onData);
      };
      req.on('data', onData);
      req.once('end', done);
      req.socket.once('close', done);
    });
  });
}
