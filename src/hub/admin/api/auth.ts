/**
 * Authentication of admin API calls: `Authorization: Bearer tsa_…`, a token created by
 * `tessera admin-tokens create` and stored only as its hash. A missing, unknown, revoked or
 * expired token is a 401 `ERR_ADMIN_TOKEN` (with an RFC 6750 challenge); a valid token without
 * the route's scope is a 403 `ERR_FORBIDDEN`. Every answer is `Cache-Control: no-store`.
 */
import type { Context, Middleware } from 'koa';
import { nowSeconds } from '../../../core/clock';
import { TesseraError } from '../../../core/errors';
import type { AdminScope, AdminTokenRecord } from '../../../ports';
import type { HubDeps } from '../../deps';

declare module 'koa' {
  interface DefaultState {
    /** The admin token that authenticated this admin API request. */
    adminToken: AdminTokenRecord;
  }
}

/** Bounded so an oversize header is refused before any store query. */
const bearer = /^Bearer (\S{1,128})$/i;

/** Puts the authenticated token in `ctx.state.adminToken`, or refuses the request. */
export function requireAdminScope(deps: Pick<HubDeps, 'adminTokens' | 'clock'>, scope: AdminScope): Middleware {
  return async function authenticateAdminToken(ctx, next) {
    // Answers name people, addresses and sessions: no cache may keep them (ASVS 5.0 V14.3.2).
    ctx.set('Cache-Control', 'no-store');
    const match = bearer.exec(ctx.get('Authorization'));
    const record = match === null ? null : await deps.adminTokens.authenticate(match[1]!, nowSeconds(deps.clock));
    if (record === null) {
      ctx.set('WWW-Authenticate', 'Bearer realm="tessera-admin"');
      throw new TesseraError('ERR_ADMIN_TOKEN', 'Missing, unknown, revoked or expired admin token');
    }
    if (!record.scopes.includes(scope)) throw new TesseraError('ERR_FORBIDDEN', `This token lacks the ${scope} scope`);
    ctx.state.adminToken = record;
    await next();
  };
}

/** The audit actor of an admin API request. */
export function tokenActor(ctx: Context): string {
  return `admin-token:${ctx.state.adminToken.id}`;
}
