/** `GET /assets/tessera.css`: the hub's self-hosted stylesheet (no external assets). */
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { RouteFactory } from '../route';
import { stylesheet } from '../views/css';

const etag = `"${createHash('sha256').update(stylesheet).digest('base64url').slice(0, 16)}"`;

export const assets: RouteFactory = () => ({
  name: 'assets-css',
  method: 'GET',
  kind: 'plain',
  path: '/assets/tessera.css',
  middleware: [
    function serveStylesheet(ctx: Context) {
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.set('ETag', etag);
      if (ctx.get('If-None-Match') === etag) {
        ctx.status = 304;
        return;
      }
      ctx.type = 'text/css; charset=utf-8';
      ctx.body = stylesheet;
    },
  ],
});
