/**
 * Opening configuration and stores for one CLI command, and closing them afterwards, so that
 * each command is a few lines of domain work.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { systemClock } from '../core/clock';
import { TesseraError } from '../core/errors';
import pino from 'pino';
import type { RevocationDeps } from '../hub/revocation/revoke';
import { createLogger, type Logger } from '../log/logger';
import { configuredMailer } from '../main';
import type { MailMessage, Mailer } from '../ports';
import { openStores, sqliteFileOf, storeKind, storeLocations, type OpenedStores } from '../stores/open';
import type { CliIo } from './io';

export function commandConfig(program: Command, io: CliIo): Config {
  const file = program.opts<{ config?: string }>().config;
  return loadConfig(file === undefined ? { env: io.env } : { env: io.env, file }).config;
}

/**
 * The command's log lines, at the configured `log.level` (`TESSERA_LOG_LEVEL`) as the hub's are,
 * on standard error so they never mix with command output.
 */
export function cliLogger(config: Config): Logger {
  return createLogger({ level: config.log.level, destination: pino.destination(2) });
}

/**
 * Runs `work` with the configured stores open, closing them however it ends. Says first, at info
 * level, which stores these are ({@link storeLocations}: absolute SQLite paths, URLs without
 * credentials): a relative path is taken from the working directory, so a command run elsewhere
 * than the hub would open other files than the hub's. A SQLite database that does not exist is
 * refused (`ERR_DATABASE_NOT_FOUND`, nothing created) unless `options.mayCreate`: only commands
 * that may come before the hub's first start (`users add`, `admin-tokens create`) create it.
 */
export async function withStores<T>(program: Command, io: CliIo, work: (stores: OpenedStores, config: Config) => Promise<T>, options: { mayCreate?: boolean } = {}): Promise<T> {
  const config = commandConfig(program, io);
  const logger = cliLogger(config);
  logger.info(storeLocations(config), 'stores of this command');
  if (options.mayCreate !== true) requireDatabase(config);
  const stores = await openStores(config, systemClock, logger);
  try {
    return await work(stores, config);
  } finally {
    await stores.close();
  }
}

/**
 * Throws `ERR_DATABASE_NOT_FOUND` when the SQLite database of `config` does not exist. For a
 * command that changes something elsewhere first (the keys commands, whose keys directory may be
 * absolute while the database path is relative): it asks before the change, not after.
 */
export function requireDatabase(config: Config): void {
  const sqliteFile = sqliteFileOf(config);
  if (sqliteFile !== null && !existsSync(sqliteFile)) {
    // With Redis sessions the SQLite file is always data/tessera.db of the working directory:
    // no setting moves it (TESSERA_STORE is the Redis URL).
    const hint =
      storeKind(config.store.url) === 'sqlite'
        ? "Run the command in the hub's working directory, or set TESSERA_STORE (store.url) to the hub's database"
        : "Run the command in the hub's working directory: with a Redis store and no TESSERA_DATABASE (database.url), users are in data/tessera.db there";
    throw new TesseraError('ERR_DATABASE_NOT_FOUND', `no database at ${sqliteFile}; nothing was created. ${hint}`);
  }
}

/**
 * What `revokeSession` needs, from a command's stores. There is no outbox worker in the CLI:
 * the deliveries it enqueues go out at the next poll of a running hub's worker.
 */
export function revocationDeps(stores: OpenedStores, config: Config): RevocationDeps {
  return { sessions: stores.sessions, outbox: stores.outbox, audit: stores.audit, config, clock: systemClock, logger: cliLogger(config), projections: stores.projections ?? undefined };
}

/**
 * The mailer the hub builds from `mail.*` (`configuredMailer`), for the notices commands send to
 * the owner of an account they changed, as the admin UI and API do. Its warnings (why a message
 * was not sent, the development `file` transport) are printed on standard error. Build it before
 * changing anything (and after finding what to change): settings it refuses then stop the
 * command with nothing changed.
 */
export function cliMailer(config: Config, io: CliIo): Mailer {
  return configuredMailer(config, systemClock, {
    info: () => undefined,
    warn: (fields, msg) => io.err(`tessera: warning: ${msg} ${JSON.stringify(fields)}`),
  });
}

/** Whether the owner of an account was told of a change ({@link tellOwner}). */
export interface OwnerNotice {
  to: string;
  sent: boolean;
}

/**
 * Sends `message` to the owner of the account a command changed. Never rejects: the change is
 * made already, so a mail failure must not hide what was done; {@link requireSent} reports it
 * once the command has said what it did.
 */
export async function tellOwner(mailer: Mailer, message: MailMessage): Promise<OwnerNotice> {
  try {
    await mailer.send(message);
    return { to: message.to, sent: true };
  } catch {
    // The mailer printed why (its `mail not sent` warning, with nodemailer's code).
    return { to: message.to, sent: false };
  }
}

/**
 * A command whose change was made but whose notice could not be sent ends, after its usual line
 * on standard output, with `ERR_MAIL_SEND_FAILED` on standard error and exit status 1, like any
 * failed command: a script sees it, and the operator knows to tell the person another way. A
 * null notice (nobody was to be told) passes.
 */
export function requireSent(notice: OwnerNotice | null): void {
  if (notice !== null && !notice.sent) throw new TesseraError('ERR_MAIL_SEND_FAILED', `the e-mail telling ${notice.to} could not be sent: tell them another way`);
}

/** Plain-text table: a header row and left-aligned columns. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** An ISO timestamp for Unix seconds, or '-'. */
export function formatTime(seconds: number | null): string {
  return seconds === null ? '-' : new Date(seconds * 1000).toISOString();
}
