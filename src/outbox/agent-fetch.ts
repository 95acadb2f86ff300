/**
 * The part of `fetch` the outbox worker uses (a POST with headers, a string body, an abort
 * signal; status only), over node:https with an agent of the caller's. For a hub that must
 * trust a private CA for its sites' back-channel endpoints (the demo's development
 * certificate): the global fetch takes no per-call CA. Like the worker's fetch it never follows
 * a redirect.
 */
import http from 'node:http';
import https from 'node:https';

/**
 * @example
 * createOutboxWorker({ ..., fetch: agentFetch(new https.Agent({ ca: readFileSync('ca.pem') })) });
 */
export function agentFetch(agent: https.Agent): typeof fetch {
  const post = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    const send = url.protocol === 'https:' ? https.request : http.request;
    return new Promise<Response>((resolve, reject) => {
      const signal = init.signal ?? null;
      const req = send(url, { method: init.method ?? 'GET', headers: init.headers as Record<string, string>, ...(url.protocol === 'https:' ? { agent } : {}) }, (res) => {
        res.resume();
        res.on('end', () => resolve(new Response(null, { status: res.statusCode ?? 0 })));
        res.on('error', reject);
      });
      const abort = (): void => {
        req.destroy();
        reject(signal?.reason);
      };
      if (signal?.aborted) return abort();
      signal?.addEventListener('abort', abort, { once: true });
      req.on('close', () => signal?.removeEventListener('abort', abort));
      req.on('error', reject);
      req.end(typeof init.body === 'string' ? init.body : undefined);
    });
  };
  return post as typeof fetch;
}
