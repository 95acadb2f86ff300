/** `GET /api/v1/admin/users`: users ordered by e-mail address, filtered, one page at a time. */
import type { Context } from 'koa';
import { z } from 'zod';
import type { UserFilter } from '../../../ports';
import type { RouteFactory } from '../../route';
import { userJson } from '../present';
import { requireAdminScope } from './auth';
import { paging, parseInput, queryOf } from './input';

const query = z.object({
  email: z.string().min(1).max(320).optional(),
  role: z.string().min(1).max(64).optional(),
  disabled: z.enum(['true', 'false']).optional(),
  ...paging,
});

export const adminApiUsersList: RouteFactory = (deps) => ({
  name: 'admin-api-users-list',
  method: 'GET',
  kind: 'plain',
  path: '/api/v1/admin/users',
  middleware: [
    requireAdminScope(deps, 'users:read'),
    async function listUsers(ctx: Context) {
      const q = parseInput(query, queryOf(ctx));
      const filter: UserFilter = {
        ...(q.email !== undefined ? { emailContains: q.email } : {}),
        ...(q.role !== undefined ? { role: q.role } : {}),
        ...(q.disabled !== undefined ? { disabled: q.disabled === 'true' } : {}),
      };
      const page = await deps.users.list(filter, { limit: q.limit, cursor: q.cursor ?? null });
      ctx.body = { items: page.items.map(userJson), nextCursor: page.nextCursor };
    },
  ],
});
