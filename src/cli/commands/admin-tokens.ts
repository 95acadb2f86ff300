/**
 * `tessera admin-tokens create | list | revoke`: bearer tokens for the admin API. The token is
 * printed once, at creation; the store keeps only its hash.
 */
import type { Command } from 'commander';
import { nowSeconds, systemClock } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import { ADMIN_SCOPES, type AdminScope } from '../../ports';
import { formatTable, formatTime, withStores } from '../context';
import type { CliIo } from '../io';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseScopes(values: string[]): AdminScope[] {
  if (values.length === 0) throw new TesseraError('ERR_BAD_REQUEST', `give at least one --scope (${ADMIN_SCOPES.join(', ')})`);
  for (const v of values) {
    if (!(ADMIN_SCOPES as readonly string[]).includes(v)) throw new TesseraError('ERR_BAD_REQUEST', `unknown scope ${v} (known: ${ADMIN_SCOPES.join(', ')})`);
  }
  return values as AdminScope[];
}

function parseDays(value: string | undefined): number | null {
  if (value === undefined) return null;
  const days = Number(value);
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new TesseraError('ERR_BAD_REQUEST', '--expires-in-days must be a whole number from 1 to 3650');
  return days;
}

export function registerAdminTokensCommands(program: Command, io: CliIo): void {
  const tokens = program.command('admin-tokens').description('bearer tokens for the admin API');

  tokens
    .command('create')
    .description('create a token and print it once (only its hash is stored)')
    .requiredOption('--name <name>', 'what the token is for, e.g. monitoring')
    .option('--scope <scope>', `a permission, repeatable: ${ADMIN_SCOPES.join(', ')}`, collect, [])
    .option('--expires-in-days <days>', 'expire after this many days (default: never)')
    .action(async (opts: { name: string; scope: string[]; expiresInDays?: string }) => {
      const scopes = parseScopes(opts.scope);
      const days = parseDays(opts.expiresInDays);
      const created = await withStores(program, io, async (stores) => {
        const token = await stores.adminTokens.create({
          name: opts.name,
          scopes,
          createdBy: 'cli',
          expiresAt: days === null ? null : nowSeconds(systemClock) + days * 86400,
        });
        await stores.audit.append({ type: 'admin.action', actor: 'cli', details: { action: 'admin-token.create', target: token.record.id } });
        return token;
              // The first admin token may be made before the hub's first start.
      }, { mayCreate: true });
      io.out(`created admin token ${created.record.id} (${created.record.name}; ${scopes.join(', ')}; expires ${formatTime(created.record.expiresAt)})`);
      io.out('Store it now, it is not shown again:');
      io.out(created.token);
    });

  tokens
    .command('list')
    .description('list tokens (never the tokens themselves)')
    .action(async () => {
      const records = await withStores(program, io, (stores) => stores.adminTokens.list());
      const now = nowSeconds(systemClock);
      io.out(
        formatTable(
          ['ID', 'NAME', 'SCOPES', 'STATUS', 'CREATED', 'EXPIRES', 'LAST USED'],
          records.map((t) => [
            t.id,
            t.name,
            t.scopes.join(','),
            t.revokedAt !== null ? 'revoked' : t.expiresAt !== null && t.expiresAt <= now ? 'expired' : 'active',
            formatTime(t.createdAt),
            formatTime(t.expiresAt),
            formatTime(t.lastUsedAt),
          ]),
        ),
      );
    });

  tokens
    .command('revoke <id>')
    // Ids are base64url: one in 64 starts with '-', which must not be read as an option.
    .allowUnknownOption()
    .description('revoke a token at once')
    .action(async (id: string) => {
      await withStores(program, io, async (stores) => {
        if (!(await stores.adminTokens.revoke(id))) throw new TesseraError('ERR_NOT_FOUND', `no active admin token ${id}`);
        await stores.audit.append({ type: 'admin.action', actor: 'cli', details: { action: 'admin-token.revoke', target: id } });
      });
      io.out(`revoked admin token ${id}`);
    });
}
