/**
 * `GET /api/v1/admin/sessions`: live sessions, newest first, filtered by user (id or e-mail),
 * client address, site and created / last-seen ranges, one page at a time (`cursor`).
 */
import type { Context } from 'koa';
import { z } from 'zod';
import { maxEmailInputLength } from '../../../core/users/email-address';
import type { SessionFilter } from '../../../ports';
import type { RouteFactory } from '../../route';
import { sessionJson } from '../present';
import { requireAdminScope } from './auth';
import { paging, parseInput, queryOf, unixSeconds } from './input';

const query = z.object({
  user: z.string().min(1).max(64).optional(),
  // An address may be longer as typed than in NFC, the form it is stored and looked up in.
  email: z.string().min(3).max(maxEmailInputLength).optional(),
  ip: z.string().min(1).max(64).optional(),
  site: z.url().max(512).optional(),
  createdFrom: unixSeconds.optional(),
  createdTo: unixSeconds.optional(),
  lastSeenFrom: unixSeconds.optional(),
  lastSeenTo: unixSeconds.optional(),
  ...paging,
});

export const adminApiSessionsList: RouteFactory = (deps) => ({
  name: 'admin-api-sessions-list',
  method: 'GET',
  kind: 'plain',
  path: '/api/v1/admin/sessions',
  middleware: [
    requireAdminScope(deps, 'sessions:read'),
    async function listSessions(ctx: Context) {
      const { user, email, limit, cursor, ...rest } = parseInput(query, queryOf(ctx));
      let userId = user;
      if (email !== undefined) {
        const found = await deps.users.findByEmail(email);
        // An unknown address matches no session rather than every session.
        if (found === null || (userId !== undefined && userId !== found.id)) {
          ctx.body = { items: [], nextCursor: null };
          return;
        }
        userId = found.id;
      }
      const filter: SessionFilter = Object.fromEntries(Object.entries({ ...rest, userId }).filter(([, v]) => v !== undefined));
      const page = await deps.sessions.list(filter, { limit, cursor: cursor ?? null });
      ctx.body = { items: page.items.map(sessionJson), nextCursor: page.nextCursor };
    },
  ],
});
