/**
 * `GET /healthz`: the process is up and serving. Says nothing about the stores (that is
 * `/readyz`), so an orchestrator does not restart a healthy hub because Redis blinked.
 */
import type { Context } from 'koa';
import type { RouteFactory } from '../route';

export const healthz: RouteFactory = () => ({
  name: 'healthz',
  method: 'GET',
  kind: 'plain',
  path: '/healthz',
  middleware: [
    function answerAlive(ctx: Context) {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { status: 'ok' };
    },
  ],
});
