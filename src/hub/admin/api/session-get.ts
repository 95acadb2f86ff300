/** `GET /api/v1/admin/sessions/:sid`: one live session with its site links. */
import type { Context } from 'koa';
import { TesseraError } from '../../../core/errors';
import { isSessionId } from '../../../core/sessions/session';
import type { RouteFactory } from '../../route';
import { sessionJson } from '../present';
import { requireAdminScope } from './auth';
import { pathParam } from './input';

export const adminApiSessionGet: RouteFactory = (deps) => ({
  name: 'admin-api-session-get',
  method: 'GET',
  kind: 'plain',
  path: '/api/v1/admin/sessions/:sid',
  middleware: [
    requireAdminScope(deps, 'sessions:read'),
    async function showSession(ctx: Context) {
      const sid = pathParam(ctx, 'sid');
      if (!isSessionId(sid)) throw new TesseraError('ERR_BAD_REQUEST', 'Invalid sid');
      const session = await deps.sessions.get(sid);
      if (session === null) throw new TesseraError('ERR_NOT_FOUND', 'No such session');
      ctx.body = sessionJson(session);
    },
  ],
});
