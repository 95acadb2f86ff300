/** `POST /admin/keys/rotate`: publishes a new key as `next` (not destructive: the current key keeps verifying). */
import type { Context } from 'koa';
import type { RouteFactory } from '../../route';
import { recordAdminAction } from '../audit-action';
import { adminActor } from './guard';
import { adminPost } from './shared';

export const adminKeysRotate: RouteFactory = (deps) => ({
  name: 'admin-keys-rotate',
  method: 'POST',
  kind: 'page',
  path: '/admin/keys/rotate',
  middleware: [
    ...adminPost(deps, false),
    async function rotateKeys(ctx: Context) {
      const actor = adminActor(ctx);
      const added = await deps.keyring.rotate();
      await deps.audit.append({ type: 'key.rotated', actor, ip: ctx.ip || null, details: { kid: added.kid, activatesAt: added.activatesAt } });
      await recordAdminAction(deps.audit, ctx, actor, 'keys.rotate', added.kid);
      ctx.status = 303;
      ctx.redirect('/admin/keys?done=rotated');
    },
  ],
});
