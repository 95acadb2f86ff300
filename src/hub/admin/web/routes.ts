/** The admin web UI's routes, wired by src/hub/routes.ts. */
import type { RouteFactory } from '../../route';
import { adminAuditPage } from './audit-page';
import { adminKeysPage } from './keys-page';
import { adminKeysRotate } from './keys-rotate';
import { adminOutboxPage } from './outbox-page';
import { adminOutboxRetry } from './outbox-retry';
import { adminSessionPage } from './session-page';
import { adminSessionRevoke } from './session-revoke';
import { adminSessionsPage } from './sessions-page';
import { adminUserDisable, adminUserEnable } from './user-disable';
import { adminUserSessionsRevoke } from './user-sessions-revoke';
import { adminUsersPage } from './users-page';
import { adminUserCreate } from './user-create';
import { adminUserDelete } from './user-delete';
import { adminUserTwoStepReset } from './user-two-step-reset';

export const adminWebRoutes: RouteFactory[] = [
  adminSessionsPage,
  adminSessionPage,
  adminSessionRevoke,
  adminUserSessionsRevoke,
  adminUsersPage,
  adminUserCreate,
  adminUserDelete,
  adminUserTwoStepReset,
  adminUserDisable,
  adminUserEnable,
  adminKeysPage,
  adminKeysRotate,
  adminOutboxPage,
  adminOutboxRetry,
  adminAuditPage,
];
