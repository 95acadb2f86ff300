/**
 * Every admin action (API, web UI) leaves one `admin.action` audit event: who (`actor`), what
 * (`details.action`) and on what (`details.target`), with the client address.
 */
import type { Context } from 'koa';
import type { AuditLog } from '../../ports';

export async function recordAdminAction(audit: AuditLog, ctx: Context, actor: string, action: string, target: string, userId: string | null = null): Promise<void> {
  await audit.append({ type: 'admin.action', actor, userId, ip: ctx.ip || null, details: { action, target } });
}
