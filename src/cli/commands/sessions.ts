/**
 * `tessera sessions list | show | revoke | purge`: live sessions in the configured store.
 * Revocation goes through the hub's one revocation operation (actor `cli`): the session ends at
 * once, and every site that held it gets a back-channel logout from a running hub's outbox worker.
 * With `admin.notifyOnRevoke` the person is e-mailed, as when an admin revokes in the UI or API
 * (a failed mail: exit 1, `ERR_MAIL_SEND_FAILED`, the sessions ended all the same).
 */
import type { Command } from 'commander';
import { systemClock } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import { isSessionId } from '../../core/sessions/session';
import { revokeSession, revokeUserSessions } from '../../hub/revocation/revoke';
import { sessionsEndedByAdminMessage } from '../../mail/templates';
import type { SessionFilter, SessionRecord } from '../../ports';
import type { OpenedStores } from '../../stores/open';
import { cliMailer, formatTable, formatTime, requireSent, revocationDeps, tellOwner, withStores, type OwnerNotice } from '../context';
import type { CliIo } from '../io';
import { findUser } from './users';

/** E-mail addresses of the sessions' users, looked up once each. */
async function emailsOf(stores: OpenedStores, sessions: SessionRecord[]): Promise<Map<string, string>> {
  const emails = new Map<string, string>();
  for (const id of new Set(sessions.map((s) => s.userId).filter((u): u is string => u !== null))) {
    const user = await stores.users.findById(id);
    if (user !== null) emails.set(id, user.email);
  }
  return emails;
}

function checkedSid(sid: string): string {
  if (!isSessionId(sid)) throw new TesseraError('ERR_BAD_REQUEST', `not a session id: ${sid}`);
  return sid;
}

export function registerSessionsCommands(program: Command, io: CliIo): void {
  const sessions = program.command('sessions').description('list, show, revoke and purge sessions');

  sessions
    .command('list')
    .description('live sessions, newest first')
    .option('--user <email>', 'only sessions of this user')
    .option('--site <origin>', 'only sessions a site holds')
    .option('--limit <n>', 'at most this many (1-500)', '100')
    .action(async (opts: { user?: string; site?: string; limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new TesseraError('ERR_BAD_REQUEST', '--limit must be a whole number from 1 to 500');
      const { items, emails } = await withStores(program, io, async (stores) => {
        const filter: SessionFilter = {};
        if (opts.user !== undefined) filter.userId = (await findUser(stores, opts.user)).id;
        if (opts.site !== undefined) filter.site = opts.site;
        const page = await stores.sessions.list(filter, { limit });
        return { items: page.items, emails: await emailsOf(stores, page.items) };
      });
      io.out(
        formatTable(
          ['SID', 'USER', 'IP', 'CREATED', 'LAST SEEN', 'SITES'],
          items.map((s) => [s.sid, s.userId === null ? '(anonymous)' : (emails.get(s.userId) ?? s.userId), s.ip ?? '-', formatTime(s.createdAt), formatTime(s.lastSeenAt), String(s.sites.length)]),
        ),
      );
    });

  sessions
    .command('show <sid>')
    // Ids are base64url: one in 64 starts with '-', which must not be read as an option.
    .allowUnknownOption()
    .description('one session with the sites that hold it')
    .action(async (sid: string) => {
      const { session, emails } = await withStores(program, io, async (stores) => {
        const found = await stores.sessions.get(checkedSid(sid));
        if (found === null) throw new TesseraError('ERR_NOT_FOUND', `no live session ${sid}`);
        return { session: found, emails: await emailsOf(stores, [found]) };
      });
      const user = session.userId === null ? '(anonymous)' : `${emails.get(session.userId) ?? '?'} (${session.userId})`;
      io.out(
        [
          `sid:          ${session.sid}`,
          `user:         ${user}`,
          `ip:           ${session.ip ?? '-'}`,
          `user agent:   ${session.userAgent ?? '-'}`,
          `created:      ${formatTime(session.createdAt)}`,
          `last seen:    ${formatTime(session.lastSeenAt)}`,
          `idle expiry:  ${formatTime(session.idleExpiresAt)}`,
          `hard expiry:  ${formatTime(session.absoluteExpiresAt)}`,
          `persistent:   ${session.persistent ? 'yes' : 'no'}`,
          `sites:        ${session.sites.length === 0 ? '-' : session.sites.map((l) => `${l.site} (${formatTime(l.linkedAt)})`).join(', ')}`,
        ].join('\n'),
      );
    });

  sessions
    .command('revoke [sid]')
    // Ids are base64url: one in 64 starts with '-', which must not be read as an option.
    .allowUnknownOption()
    .description('end one session, or with --user every session of a user, on every site')
    .option('--user <email>', 'end every session of this user')
    .action(async (sid: string | undefined, opts: { user?: string }) => {
      if ((sid === undefined) === (opts.user === undefined)) throw new TesseraError('ERR_BAD_REQUEST', 'give either a session id or --user <email>');
      const { ended, notice } = await withStores(program, io, async (stores, config) => {
        const mailer = config.admin.notifyOnRevoke ? cliMailer(config, io) : null;
        const deps = revocationDeps(stores, config);
        /** The owner of the ended sessions told, as `notifySessionsEnded` does for the admin UI and API. */
        const tell = async (userId: string | null, scope: 'one' | 'all'): Promise<OwnerNotice | null> => {
          if (mailer === null || userId === null) return null;
          const user = await stores.users.findById(userId);
          return user === null ? null : tellOwner(mailer, sessionsEndedByAdminMessage({ to: user.email, scope, at: new Date(systemClock.now()) }));
        };
        if (opts.user !== undefined) {
          const user = await findUser(stores, opts.user);
          const all = await revokeUserSessions(deps, user.id, 'admin', 'cli');
          return { ended: all, notice: await tell(user.id, 'all') };
        }
        const one = await revokeSession(deps, checkedSid(sid!), 'admin', 'cli');
        if (one === null) throw new TesseraError('ERR_NOT_FOUND', `no live session ${sid}`);
        return { ended: [one], notice: await tell(one.userId, 'one') };
      });
      io.out(`ended ${ended.length} session(s)${ended.length > 0 ? `: ${ended.map((s) => s.sid).join(' ')}` : ''}`);
      requireSent(notice);
    });

  sessions
    .command('purge')
    .description('remove expired sessions from a SQL store (Redis expires them by itself)')
    .action(async () => {
      const removed = await withStores(program, io, (stores) => stores.sessions.purgeExpired());
      io.out(`purged ${removed} expired session(s)`);
    });
}
