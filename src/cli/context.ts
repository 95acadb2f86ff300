/**
 * Opening configuration and stores for one CLI command, and closing them afterwards, so that
 * each command is a few lines of domain work.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { systemClock } from '../core/clock';
import pino from 'pino';
import type { RevocationDeps } from '../hub/revocation/revoke';
import { createLogger, type Logger } from '../log/logger';
import { openStores, type OpenedStores } from '../stores/open';
import type { CliIo } from './io';

export function commandConfig(program: Command, io: CliIo): Config {
  const file = program.opts<{ config?: string }>().config;
  return loadConfig(file === undefined ? { env: io.env } : { env: io.env, file }).config;
}

/** Warnings and errors for the operator, on standard error so they never mix with command output. */
export function cliLogger(): Logger {
  return createLogger({ level: 'warn', destination: pino.destination(2) });
}

/** Runs `work` with the configured stores open, closing them however it ends. */
export async function withStores<T>(program: Command, io: CliIo, work: (stores: OpenedStores, config: Config) => Promise<T>): Promise<T> {
  const config = commandConfig(program, io);
  const stores = await openStores(config, systemClock, cliLogger());
  try {
    return await work(stores, config);
  } finally {
    await stores.close();
  }
}

/**
 * What `revokeSession` needs, from a command's stores. There is no outbox worker in the CLI:
 * the deliveries it enqueues go out at the next poll of a running hub's worker.
 */
export function revocationDeps(stores: OpenedStores, config: Config): RevocationDeps {
  return { sessions: stores.sessions, outbox: stores.outbox, audit: stores.audit, config, clock: systemClock, logger: cliLogger(), projections: stores.projections ?? undefined };
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
