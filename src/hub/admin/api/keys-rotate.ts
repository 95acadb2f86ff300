/**
 * `POST /api/v1/admin/keys/rotate`: publishes a new key as `next`; it signs once JWKS caches
 * have refreshed (src/core/keys/keyring.ts).
 */
import type { Context } from 'koa';
import type { RouteFactory } from '../../route';
import { recordAdminAction } from '../audit-action';
import { requireAdminScope, tokenActor } from './auth';

export const adminApiKeysRotate: RouteFactory = (deps) => ({
  name: 'admin-api-keys-rotate',
  method: 'POST',
  kind: 'plain',
  path: '/api/v1/admin/keys/rotate',
  middleware: [
    requireAdminScope(deps, 'keys:rotate'),
    async function rotateKeys(ctx: Context) {
      const actor = tokenActor(ctx);
      const added = await deps.keyring.rotate();
      await deps.audit.append({ type: 'key.rotated', actor, ip: ctx.ip || null, details: { kid: added.kid, activatesAt: added.activatesAt } });
      await recordAdminAction(deps.audit, ctx, actor, 'keys.rotate', added.kid);
      ctx.body = { key: added };
    },
  ],
});
