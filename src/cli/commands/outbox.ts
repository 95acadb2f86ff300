/**
 * `tessera outbox list | retry`: the back-channel logout deliveries. A running hub's worker
 * delivers them; an operator sees what is pending, given up or dropped and puts those back.
 */
import type { Command } from 'commander';
import { nowSeconds, systemClock } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import type { DeliveryFilter, DeliveryStatus } from '../../ports';
import { formatTable, formatTime, withStores } from '../context';
import type { CliIo } from '../io';

const statuses: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed', 'dropped'];

export function registerOutboxCommands(program: Command, io: CliIo): void {
  const outbox = program.command('outbox').description('back-channel logout deliveries');

  outbox
    .command('list')
    .description('deliveries, newest first, and the queue totals')
    .option('--status <status>', `only ${statuses.join(', ')}`)
    .option('--site <origin>', 'only deliveries to this site')
    .action(async (opts: { status?: string; site?: string }) => {
      if (opts.status !== undefined && !(statuses as readonly string[]).includes(opts.status)) {
        throw new TesseraError('ERR_BAD_REQUEST', `--status must be one of ${statuses.join(', ')}`);
      }
      const filter: DeliveryFilter = { ...(opts.status !== undefined ? { status: opts.status as DeliveryStatus } : {}), ...(opts.site !== undefined ? { site: opts.site } : {}) };
      const { page, stats } = await withStores(program, io, async (stores) => ({ page: await stores.outbox.list(filter, { limit: 200 }), stats: await stores.outbox.stats() }));
      io.out(
        formatTable(
          ['ID', 'STATUS', 'SITE', 'SID', 'REASON', 'ATTEMPTS', 'NEXT ATTEMPT', 'LAST ERROR'],
          page.items.map((d) => [d.id, d.status, d.site, d.sid, d.reason, String(d.attempts), d.status === 'pending' ? formatTime(d.nextAttemptAt) : '-', d.lastError ?? '-']),
        ),
      );
      io.out(`pending ${stats.pending}, failed ${stats.failed}, oldest pending ${formatTime(stats.oldestPendingAt)}`);
    });

  outbox
    .command('retry <id>')
    .description('put a failed or dropped delivery back in the queue, due now')
    .action(async (id: string) => {
      await withStores(program, io, async (stores) => {
        if (!(await stores.outbox.retry(id, nowSeconds(systemClock)))) throw new TesseraError('ERR_NOT_FOUND', `no failed or dropped delivery ${id}`);
        await stores.audit.append({ type: 'admin.action', actor: 'cli', details: { action: 'outbox.retry', target: id } });
      });
      io.out(`queued delivery ${id} again`);
    });
}
