/**
 * Audit events written from request paths without holding the answer up: the person or the
 * beacon does not wait for the audit store, and a failed write is logged (the event's type and
 * code only) instead of failing a request that already did its work.
 */
import type { Logger } from '../../log/logger';
import type { AuditLog, NewAuditEvent } from '../../ports';

/**
 * Appends `event`; a failure is logged through `log`, or through the logger `log()` returns (a
 * request's child logger is then made only in the rare case it is needed).
 */
export function recordAudit(audit: AuditLog, log: Logger | (() => Logger), event: NewAuditEvent): void {
  audit.append(event).catch((err: unknown) => (typeof log === 'function' ? log() : log).warn({ type: event.type, code: (err as { code?: unknown }).code }, 'audit event not recorded'));
}
