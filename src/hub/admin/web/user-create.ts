/**
 * `POST /admin/users`: an admin creates an account (src/hub/admin/create-user.ts). Treated as
 * destructive (re-authentication applies): it can grant the admin role.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import type { RouteFactory } from '../../route';
import { parseInput } from '../api/input';
import { createAccount } from '../create-user';
import { adminActor } from './guard';
import { adminPost } from './shared';

const form = z.object({
  // No length limit here: `createAccount` (src/hub/admin/create-user.ts) checks the NFC form.
  email: z.string().trim().min(1, 'is required'),
  name: z
    .string()
    .max(200)
    .optional()
    .transform((s) => (s === undefined || s.trim() === '' ? null : s.trim())),
  admin: z.literal('1').optional(),
  invite: z.literal('1').optional(),
});

export const adminUserCreate: RouteFactory = (deps) => ({
  name: 'admin-user-create',
  method: 'POST',
  kind: 'page',
  path: '/admin/users',
  middleware: [
    ...adminPost(deps, true),
    async function createUser(ctx: Context) {
      const input = parseInput(form, ctx.request.body ?? {});
      await createAccount(deps, ctx, { email: input.email, name: input.name, admin: input.admin === '1', invite: input.invite === '1' }, adminActor(ctx));
      ctx.status = 303;
      ctx.redirect('/admin/users?done=created');
    },
  ],
});
