/**
 * `tessera keys list | rotate | retire <kid>`: key management on the shared `keys/` directory.
 * Running hubs pick the change up on their next reload (`keys.reloadIntervalSeconds`). Rotations
 * and retirements are audited with actor `cli`.
 */
import type { Command } from 'commander';
import { systemClock } from '../../core/clock';
import type { KeyInfo } from '../../core/keys/keyring';
import { openKeyring } from '../../main';
import { cliLogger, commandConfig, formatTable, formatTime, withStores } from '../context';
import type { CliIo } from '../io';

export function formatKeys(keys: KeyInfo[]): string {
  return formatTable(
    ['KID', 'ALG', 'STATE', 'CREATED', 'SIGNS FROM', 'RETIRED', 'PUBLISHED UNTIL'],
    keys.map((k) => [k.kid, k.alg, k.state, formatTime(k.createdAt), formatTime(k.activatesAt), formatTime(k.retiredAt), formatTime(k.publishedUntil)]),
  );
}

export function registerKeysCommands(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('list, rotate and retire signing keys');
  const open = () => {
    const config = commandConfig(program, io);
    return openKeyring(config, systemClock, cliLogger(config));
  };

  keys
    .command('list')
    .description('show every key with its state and timestamps')
    .action(async () => {
      io.out(formatKeys((await open()).list()));
    });

  keys
    .command('rotate')
    .description('publish a new key as next; it signs once JWKS caches have refreshed, and the old key is retired then')
    .action(async () => {
      const added = await (await open()).rotate();
      await withStores(program, io, (stores) => stores.audit.append({ type: 'key.rotated', actor: 'cli', details: { kid: added.kid, activatesAt: added.activatesAt } }));
      io.out(`published ${added.kid} as ${added.state}; it signs from ${formatTime(added.activatesAt)}`);
    });

  keys
    .command('retire <kid>')
    // Ids are base64url: one in 64 starts with '-', which must not be read as an option.
    .allowUnknownOption()
    .description('retire a key now: it stops signing and leaves the JWKS once its tokens have expired')
    .action(async (kid: string) => {
      await (await open()).retire(kid);
      await withStores(program, io, (stores) => stores.audit.append({ type: 'key.retired', actor: 'cli', details: { kid } }));
      io.out(`retired ${kid}`);
    });
}
