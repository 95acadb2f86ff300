/** `GET /admin/keys`: signing keys and their states, with the rotate button. */
import type { Context } from 'koa';
import { renderPage } from '../../middleware/page';
import type { RouteFactory } from '../../route';
import { adminKeysView } from '../../views/admin';
import { requireAdmin } from './guard';
import { doneMessage } from './shared';

export const adminKeysPage: RouteFactory = (deps) => ({
  name: 'admin-keys-page',
  method: 'GET',
  kind: 'page',
  path: '/admin/keys',
  middleware: [
    ...requireAdmin(deps),
    function showKeys(ctx: Context) {
      renderPage(ctx, { title: 'Administration: keys', body: adminKeysView({ keys: deps.keyring.list(), csrf: ctx.state.sessionControl.csrfToken(), info: doneMessage(ctx) }) });
    },
  ],
});
