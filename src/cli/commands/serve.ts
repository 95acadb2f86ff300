import type { Command } from 'commander';
import { serve } from '../../main';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the hub (HTTP) with the configured stores and keys')
    .action(async () => {
      await serve(program.opts<{ config?: string }>().config);
    });
}
