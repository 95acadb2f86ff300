/**
 * `tessera users add | list | passwd | disable | enable | delete | two-step-off`: user
 * administration on the configured user database. Disabling or deleting a user also ends every
 * session of theirs at once. Every change is audited with actor `cli`.
 *
 * The owner of the account is told by e-mail, through the hub's configured mailer, of what the
 * admin UI and API would tell them: two-step sign-in turned off and the account deleted
 * (always), their sessions ended by `disable` (with `admin.notifyOnRevoke`); and of a password
 * set or removed by `passwd` (always: the account page mails the same change). When that mail
 * cannot be sent the change stays made and the command exits 1 with `ERR_MAIL_SEND_FAILED`
 * (src/cli/context.ts).
 */
import type { Command } from 'commander';
import { systemClock } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import { parseDisplayName } from '../../core/users/display-name';
import { parseEmailAddress } from '../../core/users/email-address';
import { accountDeletedByAdminMessage, passwordSetByAdminMessage, sessionsEndedByAdminMessage, twoStepResetByAdminMessage } from '../../mail/templates';
import { hashPassword } from '../../users/password';
import type { UserRecord } from '../../ports';
import { deleteUser } from '../../hub/revocation/delete-user';
import { revokeUserSessions } from '../../hub/revocation/revoke';
import type { OpenedStores } from '../../stores/open';
import { cliMailer, formatTable, formatTime, requireSent, revocationDeps, tellOwner, withStores } from '../context';
import type { CliIo } from '../io';

/** The user with this e-mail address, or `ERR_USER_NOT_FOUND`. */
export async function findUser(stores: Pick<OpenedStores, 'users'>, email: string): Promise<UserRecord> {
  const user = await stores.users.findByEmail(parseEmailAddress(email));
  if (user === null) throw new TesseraError('ERR_USER_NOT_FOUND', `no user with e-mail ${email}`);
  return user;
}

async function newPassword(io: CliIo): Promise<string> {
  return hashPassword(await io.readSecret('New password: '));
}

export function registerUsersCommands(program: Command, io: CliIo): void {
  const users = program.command('users').description('add, list and manage users');

  users
    .command('add')
    .description('create a user (magic-link only unless --password-stdin)')
    .requiredOption('--email <email>', 'e-mail address (unique, case-insensitive)')
    .option('--name <name>', 'display name')
    .option('--admin', 'give the admin role')
    .option('--password-stdin', 'read the password from standard input (or prompt on a terminal)')
    .action(async (opts: { email: string; name?: string; admin?: boolean; passwordStdin?: boolean }) => {
      const email = parseEmailAddress(opts.email);
      const passwordHash = opts.passwordStdin ? await newPassword(io) : null;
      const user = await withStores(program, io, async (stores) => {
        const created = await stores.users.create({ email, name: opts.name === undefined ? null : parseDisplayName(opts.name), passwordHash, roles: opts.admin ? ['admin'] : [] });
        await stores.audit.append({ type: 'user.created', actor: 'cli', userId: created.id, details: { roles: created.roles.join(','), magicLinkOnly: created.passwordHash === null } });
        return created;
        // The first admin may be added before the hub's first start.
      }, { mayCreate: true });
      io.out(`created ${user.email} (id ${user.id}${user.roles.length > 0 ? `, roles ${user.roles.join(',')}` : ''}${passwordHash === null ? ', magic link only' : ''})`);
    });

  users
    .command('list')
    .description('list users')
    .option('--email <text>', 'only e-mail addresses containing this text')
    .option('--admins', 'only admins')
    .option('--disabled', 'only disabled users')
    .action(async (opts: { email?: string; admins?: boolean; disabled?: boolean }) => {
      const rows = await withStores(program, io, async (stores) => {
        const all: UserRecord[] = [];
        let cursor: string | null = null;
        do {
          const page = await stores.users.list(
            { ...(opts.email ? { emailContains: opts.email } : {}), ...(opts.admins ? { role: 'admin' } : {}), ...(opts.disabled ? { disabled: true } : {}) },
            { limit: 200, cursor },
          );
          all.push(...page.items);
          cursor = page.nextCursor;
        } while (cursor !== null);
        return all;
      });
      io.out(
        formatTable(
          ['EMAIL', 'NAME', 'ROLES', 'STATUS', 'PASSWORD', 'CREATED', 'LAST LOGIN'],
          rows.map((u) => [u.email, u.name ?? '', u.roles.join(','), u.disabled ? 'disabled' : 'active', u.passwordHash ? 'yes' : 'no', formatTime(u.createdAt), formatTime(u.lastLoginAt)]),
        ),
      );
    });

  users
    .command('passwd')
    .description('set a user\'s password (read from standard input, or prompted on a terminal)')
    .requiredOption('--email <email>', 'the user')
    .option('--clear', 'remove the password: the user signs in by magic link only')
    .option('--keep-sessions', 'do not end the user\'s sessions (by default a credential change ends them all)')
    .action(async (opts: { email: string; clear?: boolean; keepSessions?: boolean }) => {
      const hash = opts.clear ? null : await newPassword(io);
      const { ended, notice } = await withStores(program, io, async (stores, config) => {
        const user = await findUser(stores, opts.email);
        const mailer = cliMailer(config, io);
        await stores.users.setPasswordHash(user.id, hash);
        await stores.audit.append({ type: 'user.updated', actor: 'cli', userId: user.id, details: { change: hash === null ? 'password-cleared' : 'password-set' } });
        // ASVS V7: after a credential change, sessions opened with the old one end.
        const count = opts.keepSessions ? 0 : (await revokeUserSessions(revocationDeps(stores, config), user.id, 'password-changed', 'cli')).length;
        const message = passwordSetByAdminMessage({ to: user.email, cleared: hash === null, signedOut: !opts.keepSessions, at: new Date(systemClock.now()) });
        return { ended: count, notice: await tellOwner(mailer, message) };
      });
      io.out(`${opts.clear ? 'password removed' : 'password set'} for ${opts.email}; ended ${ended} session(s)`);
      requireSent(notice);
    });

  users
    .command('disable')
    .description('disable a user and end all of their sessions')
    .requiredOption('--email <email>', 'the user')
    .action(async (opts: { email: string }) => {
      const { ended, notice } = await withStores(program, io, async (stores, config) => {
        const user = await findUser(stores, opts.email);
        const mailer = config.admin.notifyOnRevoke ? cliMailer(config, io) : null;
        await stores.users.setDisabled(user.id, true);
        await stores.audit.append({ type: 'user.disabled', actor: 'cli', userId: user.id });
        const count = (await revokeUserSessions(revocationDeps(stores, config), user.id, 'user-disabled', 'cli')).length;
        return { ended: count, notice: mailer === null ? null : await tellOwner(mailer, sessionsEndedByAdminMessage({ to: user.email, scope: 'all', at: new Date(systemClock.now()) })) };
      });
      io.out(`disabled ${opts.email}; ended ${ended} session(s)`);
      requireSent(notice);
    });

  users
    .command('delete')
    .description('delete a user: end all of their sessions everywhere, then remove the account')
    .requiredOption('--email <email>', 'the user')
    .option('--yes', 'confirm: the account cannot be restored')
    .action(async (opts: { email: string; yes?: boolean }) => {
      if (!opts.yes) throw new TesseraError('ERR_BAD_REQUEST', `deleting ${opts.email} cannot be undone: add --yes to confirm`);
      const { ended, notice } = await withStores(program, io, async (stores, config) => {
        const user = await findUser(stores, opts.email);
        const mailer = cliMailer(config, io);
        const { endedSessions, removed } = await deleteUser({ ...revocationDeps(stores, config), users: stores.users }, user, 'cli');
        // Null when a concurrent deletion removed the account first: that one tells the owner.
        const message = removed === null ? null : accountDeletedByAdminMessage({ to: removed.email, at: new Date(systemClock.now()) });
        return { ended: endedSessions, notice: message === null ? null : await tellOwner(mailer, message) };
      });
      io.out(`deleted ${opts.email}; ended ${ended} session(s)`);
      requireSent(notice);
    });

  users
    .command('two-step-off')
    .description("turn a user's two-step sign-in off (lost phone and recovery codes)")
    .requiredOption('--email <email>', 'the user')
    .action(async (opts: { email: string }) => {
      const notice = await withStores(program, io, async (stores, config) => {
        const user = await findUser(stores, opts.email);
        const mailer = cliMailer(config, io);
        await stores.users.setTotp(user.id, null);
        await stores.audit.append({ type: 'user.updated', actor: 'cli', userId: user.id, details: { change: 'two-step-reset' } });
        return tellOwner(mailer, twoStepResetByAdminMessage({ to: user.email, at: new Date(systemClock.now()) }));
      });
      io.out(`two-step sign-in is off for ${opts.email}`);
      requireSent(notice);
    });

  users
    .command('enable')
    .description('enable a disabled user')
    .requiredOption('--email <email>', 'the user')
    .action(async (opts: { email: string }) => {
      await withStores(program, io, async (stores) => {
        const user = await findUser(stores, opts.email);
        await stores.users.setDisabled(user.id, false);
        await stores.audit.append({ type: 'user.enabled', actor: 'cli', userId: user.id });
      });
      io.out(`enabled ${opts.email}`);
    });
}
