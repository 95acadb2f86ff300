/**
 * `POST /api/v1/admin/sessions/:sid/revoke`: ends one session everywhere (store, back-channel
 * logout to every site that received it) with reason `admin`.
 */
import type { Context } from 'koa';
import { TesseraError } from '../../../core/errors';
import { isSessionId } from '../../../core/sessions/session';
import { revokeSession } from '../../revocation/revoke';
import type { RouteFactory } from '../../route';
import { recordAdminAction } from '../audit-action';
import { notifySessionsEnded } from '../notify';
import { requireAdminScope, tokenActor } from './auth';
import { pathParam } from './input';

export const adminApiSessionRevoke: RouteFactory = (deps) => ({
  name: 'admin-api-session-revoke',
  method: 'POST',
  kind: 'plain',
  path: '/api/v1/admin/sessions/:sid/revoke',
  middleware: [
    requireAdminScope(deps, 'sessions:revoke'),
    async function revokeOne(ctx: Context) {
      const sid = pathParam(ctx, 'sid');
      if (!isSessionId(sid)) throw new TesseraError('ERR_BAD_REQUEST', 'Invalid sid');
      const actor = tokenActor(ctx);
      const ended = await revokeSession(deps, sid, 'admin', actor);
      if (ended === null) throw new TesseraError('ERR_NOT_FOUND', 'No such session');
      await recordAdminAction(deps.audit, ctx, actor, 'session.revoke', sid, ended.userId);
      notifySessionsEnded(deps, ctx, ended.userId, 'one');
      ctx.body = { revoked: [sid] };
    },
  ],
});
