/** The admin API's routes, wired by src/hub/routes.ts and checked against docs/openapi.yaml. */
import type { RouteFactory } from '../../route';
import { adminApiAuditList } from './audit-list';
import { adminApiKeysList } from './keys-list';
import { adminApiKeysRotate } from './keys-rotate';
import { adminApiOutboxList } from './outbox-list';
import { adminApiOutboxRetry } from './outbox-retry';
import { adminApiSessionGet } from './session-get';
import { adminApiSessionRevoke } from './session-revoke';
import { adminApiSessionsList } from './sessions-list';
import { adminApiUserDisable, adminApiUserEnable } from './user-disable';
import { adminApiUserSessionsRevoke } from './user-sessions-revoke';
import { adminApiUsersList } from './users-list';
import { adminApiUserCreate } from './user-create';
import { adminApiUserDelete } from './user-delete';
import { adminApiUserTwoStepReset } from './user-two-step-reset';

export const adminApiRoutes: RouteFactory[] = [
  adminApiSessionsList,
  adminApiSessionGet,
  adminApiSessionRevoke,
  adminApiUserSessionsRevoke,
  adminApiUsersList,
  adminApiUserCreate,
  adminApiUserDelete,
  adminApiUserTwoStepReset,
  adminApiUserDisable,
  adminApiUserEnable,
  adminApiAuditList,
  adminApiKeysList,
  adminApiKeysRotate,
  adminApiOutboxList,
  adminApiOutboxRetry,
];
