/**
 * `tessera audit tail [--follow]`: the latest audit events, oldest of them first, like
 * `tail`; with `--follow`, new events as they are appended (polled every second).
 */
import type { Command } from 'commander';
import { TesseraError } from '../../core/errors';
import { AUDIT_EVENT_TYPES, type AuditEvent, type AuditEventType, type AuditFilter } from '../../ports';
import { formatTime, withStores } from '../context';
import type { CliIo } from '../io';
import { findUser } from './users';

const pollMilliseconds = 1000;

/** One event on one line: time, type, then the fields that are set, then the details. */
export function formatAuditEvent(e: AuditEvent): string {
  const fields = ([['actor', e.actor], ['user', e.userId], ['sid', e.sid], ['site', e.site], ['ip', e.ip], ['reason', e.reason]] as const)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`);
  const details = Object.keys(e.details).length === 0 ? [] : [JSON.stringify(e.details)];
  return [`#${e.id}`, formatTime(e.at), e.type, ...fields, ...details].join(' ');
}

function parseTypes(values: string[]): AuditEventType[] | undefined {
  if (values.length === 0) return undefined;
  for (const v of values) {
    if (!(AUDIT_EVENT_TYPES as readonly string[]).includes(v)) throw new TesseraError('ERR_BAD_REQUEST', `unknown event type ${v} (known: ${AUDIT_EVENT_TYPES.join(', ')})`);
  }
  return values as AuditEventType[];
}

function positiveInteger(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new TesseraError('ERR_BAD_REQUEST', `${name} must be a positive whole number`);
  return n;
}

export function registerAuditCommands(program: Command, io: CliIo): void {
  const audit = program.command('audit').description('read the audit log');

  audit
    .command('tail')
    .description('print the latest audit events; --follow keeps printing new ones')
    .option('--type <type>', 'only events of this type, repeatable', (v: string, prev: string[]) => [...prev, v], [])
    .option('--user <email>', 'only events about this user')
    .option('-n, --lines <n>', 'how many of the latest events', '20')
    .option('-f, --follow', 'keep printing events as they are appended')
    .option('--follow-seconds <s>', 'stop following after this many seconds (default: until interrupted)')
    .action(async (opts: { type: string[]; user?: string; lines: string; follow?: boolean; followSeconds?: string }) => {
      const lines = Math.min(positiveInteger(opts.lines, '--lines'), 500);
      const until = opts.followSeconds === undefined ? Infinity : Date.now() + positiveInteger(opts.followSeconds, '--follow-seconds') * 1000;
      const types = parseTypes(opts.type);
      await withStores(program, io, async (stores) => {
        const filter: AuditFilter = types === undefined ? {} : { type: types };
        if (opts.user !== undefined) filter.userId = (await findUser(stores, opts.user)).id;
        const latest = (await stores.audit.query(filter, { limit: lines })).items.reverse();
        for (const e of latest) io.out(formatAuditEvent(e));
        if (!opts.follow) return;
        let last = latest.at(-1) ?? null;
        while (Date.now() < until) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(pollMilliseconds, Math.max(0, until - Date.now()))));
          // Newest first, so walk pages back to the last event printed; `from` bounds the query.
          const fresh: AuditEvent[] = [];
          let cursor: string | null = null;
          do {
            const page = await stores.audit.query(last === null ? filter : { ...filter, from: last.at }, { limit: 200, cursor });
            const newer = page.items.filter((e) => last === null || e.id > last.id);
            fresh.push(...newer);
            cursor = newer.length === page.items.length ? page.nextCursor : null;
          } while (cursor !== null);
          for (const e of fresh.reverse()) io.out(formatAuditEvent(e));
          last = fresh.at(-1) ?? last;
        }
      });
    });
}
