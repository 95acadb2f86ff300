/** `GET /api/v1/admin/keys`: every signing key with its state and timestamps (no private material). */
import type { Context } from 'koa';
import type { RouteFactory } from '../../route';
import { requireAdminScope } from './auth';

export const adminApiKeysList: RouteFactory = (deps) => ({
  name: 'admin-api-keys-list',
  method: 'GET',
  kind: 'plain',
  path: '/api/v1/admin/keys',
  middleware: [
    requireAdminScope(deps, 'keys:read'),
    function listKeys(ctx: Context) {
      ctx.body = { items: deps.keyring.list() };
    },
  ],
});
