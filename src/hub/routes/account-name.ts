/**
 * `POST /account/name`: the signed-in person changes their display name (shown on the hub's
 * pages and carried as the `name` claim to the sites that ask for it, from their next handoff).
 * Empty clears it. Longer than {@link maxNameLength} characters or with control characters is a
 * 400 `ERR_BAD_REQUEST`, nothing changed.
 */
import type { Context } from 'koa';
import { TesseraError } from '../../core/errors';
import { recordAudit } from '../audit/record';
import { requireSignedIn } from '../login/require-user';
import { formField } from '../middleware/body';
import { requireCsrfToken, requireSameOrigin } from '../middleware/csrf';
import type { RouteFactory } from '../route';

export const maxNameLength = 200;

/** The name as stored: trimmed, null when empty. */
function parseName(input: string): string | null {
  const name = input.normalize('NFC').trim();
  // eslint-disable-next-line no-control-regex
  if ([...name].length > maxNameLength || /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name)) {
    throw new TesseraError('ERR_BAD_REQUEST', `A name is at most ${maxNameLength} characters, on one line.`);
  }
  return name === '' ? null : name;
}

export const accountName: RouteFactory = (deps) => ({
  name: 'account-name',
  method: 'POST',
  kind: 'page',
  path: '/account/name',
  middleware: [
    requireSameOrigin(deps.config.publicUrl),
    requireSignedIn,
    requireCsrfToken,
    async function changeName(ctx: Context) {
      const user = ctx.state.session.user!;
      const name = parseName(formField(ctx, 'name'));
      if (name !== user.name) {
        await deps.users.setName(user.id, name);
        recordAudit(deps.audit, ctx.state.log, { type: 'user.updated', actor: `user:${user.id}`, userId: user.id, sid: ctx.state.session.sid, ip: ctx.ip || null, details: { change: 'name' } });
      }
      ctx.status = 303;
      ctx.redirect('/account?name=changed');
    },
  ],
});
