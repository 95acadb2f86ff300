/**
 * `POST /api/v1/admin/users`: create an account that signs in by e-mail link, optionally an
 * admin, optionally invited by e-mail (default). 201 with the user; 409 `ERR_USER_EXISTS`.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import type { RouteFactory } from '../../route';
import { createAccount } from '../create-user';
import { userJson } from '../present';
import { requireAdminScope, tokenActor } from './auth';
import { parseInput } from './input';

const body = z.strictObject({
  // No length limit here: the 254 octets hold for the address in NFC, the form stored, and
  // `createAccount` checks that form (parseEmailAddress, 400 ERR_EMAIL_INVALID). The form as
  // sent may be longer or shorter.
  email: z.string().min(1),
  name: z.string().trim().min(1).max(200).nullable().default(null),
  admin: z.boolean().default(false),
  invite: z.boolean().default(true),
});

export const adminApiUserCreate: RouteFactory = (deps) => ({
  name: 'admin-api-user-create',
  method: 'POST',
  kind: 'plain',
  path: '/api/v1/admin/users',
  middleware: [
    requireAdminScope(deps, 'users:write'),
    async function createUser(ctx: Context) {
      const request = parseInput(body, ctx.request.body ?? {});
      const user = await createAccount(deps, ctx, request, tokenActor(ctx));
      ctx.status = 201;
      ctx.body = { user: userJson(user) };
    },
  ],
});
