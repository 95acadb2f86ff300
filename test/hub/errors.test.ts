import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { TesseraError } from '../../src/core/errors';
import { setCookie, clearCookie } from '../../src/hub/cookies';
import { errorHandler } from '../../src/hub/middleware/errors';

describe('errorHandler', () => {
  it('drops cookies a failing request had set, keeping deletions (fail closed)', async () => {
    const app = new Koa();
    app.silent = true;
    app.use(errorHandler());
    app.use((ctx) => {
      clearCookie(ctx, 'old', { httpOnly: true, secure: true, sameSite: 'lax', path: '/' });
      setCookie(ctx, '__Host-tessera', 'new-session', { httpOnly: true, secure: true, sameSite: 'lax', path: '/' });
      throw new TesseraError('ERR_STORE_UNAVAILABLE', 'store went away after the session was written');
    });
    const server = http.createServer(app.callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(res.status).toBe(503);
      const cookies = res.headers.getSetCookie();
      expect(cookies).toHaveLength(1);
      expect(cookies[0]).toMatch(/^old=; .*Max-Age=0/);
      expect(await res.json()).toEqual({ error: { code: 'ERR_STORE_UNAVAILABLE', message: 'Internal error' } });
    } finally {
      server.close();
    }
  });
});
