#!/usr/bin/env node
/**
 * The `tessera` command. Subcommands live in src/cli/commands/; this file only wires them.
 */
import { Command } from 'commander';
import { registerAdminTokensCommands } from './commands/admin-tokens';
import { registerAuditCommands } from './commands/audit';
import { registerKeysCommands } from './commands/keys';
import { registerOutboxCommands } from './commands/outbox';
import { registerServeCommand } from './commands/serve';
import { registerSessionsCommands } from './commands/sessions';
import { registerSitesCommands } from './commands/sites';
import { registerUsersCommands } from './commands/users';
import { processIo, type CliIo } from './io';

export function buildProgram(io: CliIo = processIo): Command {
  const program = new Command();
  program
    .name('tessera')
    .description('Cross-domain session gateway: one login hub, one session across many sites')
    .option('-c, --config <file>', 'configuration file (YAML or JSON); environment variables override it')
    .showHelpAfterError()
    // Throw instead of exiting, so run() reports errors with their code and tests can call it.
    .exitOverride();
  registerServeCommand(program);
  registerKeysCommands(program, io);
  registerUsersCommands(program, io);
  registerSitesCommands(program, io);
  registerAdminTokensCommands(program, io);
  registerSessionsCommands(program, io);
  registerAuditCommands(program, io);
  registerOutboxCommands(program, io);
  return program;
}

/** Runs the command line; errors print their stable code and set a non-zero exit status. */
export async function run(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv);
    return 0;
  } catch (err) {
    const e = err as { code?: string; message?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) return e.exitCode ?? 1;
    io.err(`tessera: ${e.code ?? 'ERR_INTERNAL'}: ${e.message ?? String(err)}`);
    return 1;
  }
}

if (require.main === module) {
  run(process.argv).then((code) => {
    if (code !== 0) process.exitCode = code;
  });
}
