/**
 * `tessera keys list | rotate | retire <kid>`: key management on the shared `keys/` directory.
 * Running hubs pick the change up on their next reload (`keys.reloadIntervalSeconds`). Rotations
 * and retirements are audited with actor `cli`.
 *
 * `rotate` and `retire` refuse (`ERR_KEYS_NOT_FOUND`, nothing written) a keys directory that does
 * not exist or holds no key: a relative `keys.dir` is taken from the working directory, and a
 * command run elsewhere than the hub would otherwise generate a key there and "rotate" keys no
 * hub uses. Then they refuse a SQLite database that does not exist (`ERR_DATABASE_NOT_FOUND`), before
 * changing a key, as the audit line goes there. `list` generates the first key of an empty
 * directory, as the hub's first start does (compose's `hub-init` relies on it).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../../core/clock';
import { TesseraError } from '../../core/errors';
import type { KeyInfo } from '../../core/keys/keyring';
import { openKeyring } from '../../main';
import type { KeyStore, StoredKey } from '../../ports';
import { DirectoryKeyStore } from '../../stores/keys-dir/key-store';
import { cliLogger, commandConfig, formatTable, formatTime, requireDatabase, withStores } from '../context';
import type { CliIo } from '../io';

export function formatKeys(keys: KeyInfo[]): string {
  return formatTable(
    ['KID', 'ALG', 'STATE', 'CREATED', 'SIGNS FROM', 'RETIRED', 'PUBLISHED UNTIL'],
    keys.map((k) => [k.kid, k.alg, k.state, formatTime(k.createdAt), formatTime(k.activatesAt), formatTime(k.retiredAt), formatTime(k.publishedUntil)]),
  );
}

/**
 * The keys directory for a command that changes keys: loading it fails with `ERR_KEYS_NOT_FOUND`
 * when it holds no key, before the keyring could generate one.
 */
export function existingKeysOnly(dir: string): KeyStore {
  const store = new DirectoryKeyStore(dir);
  return {
    async load(): Promise<StoredKey[]> {
      const keys = await store.load();
      if (keys.length > 0) return keys;
      const absolute = path.resolve(dir);
      const why = existsSync(absolute) ? 'the directory holds none' : 'the directory does not exist';
      throw new TesseraError(
        'ERR_KEYS_NOT_FOUND',
        `no signing key in ${absolute} (${why}); nothing was changed. Run the command in the hub's working directory, or set TESSERA_KEYS_DIR (keys.dir) to the hub's keys directory`,
      );
    },
    save: (key) => store.save(key),
    remove: (kid) => store.remove(kid),
  };
}

export function registerKeysCommands(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('list, rotate and retire signing keys');
  const open = async (change: boolean) => {
    const config = commandConfig(program, io);
    const logger = cliLogger(config);
    logger.info({ keysDir: path.resolve(config.keys.dir) }, 'keys directory of this command');
    const keyring = await openKeyring(config, systemClock, logger, change ? existingKeysOnly(config.keys.dir) : undefined);
    // A change is audited: with an absolute keys directory the keys may be the hub's while a
    // relative database path is not, so the database must be found before the keys change.
    if (change) requireDatabase(config);
    return keyring;
  };

  keys
    .command('list')
    .description('show every key with its state and timestamps (an empty directory gets its first key)')
    .action(async () => {
      io.out(formatKeys((await open(false)).list()));
    });

  keys
    .command('rotate')
    .description('publish a new key as next; it signs once JWKS caches have refreshed, and the old key is retired then')
    .action(async () => {
      const added = await (await open(true)).rotate();
      await withStores(program, io, (stores) => stores.audit.append({ type: 'key.rotated', actor: 'cli', details: { kid: added.kid, activatesAt: added.activatesAt } }));
      io.out(`published ${added.kid} as ${added.state}; it signs from ${formatTime(added.activatesAt)}`);
    });

  keys
    .command('retire <kid>')
    // Ids are base64url: one in 64 starts with '-', which must not be read as an option.
    .allowUnknownOption()
    .description('retire a key now: it stops signing and leaves the JWKS once its tokens have expired')
    .action(async (kid: string) => {
      await (await open(true)).retire(kid);
      await withStores(program, io, (stores) => stores.audit.append({ type: 'key.retired', actor: 'cli', details: { kid } }));
      io.out(`retired ${kid}`);
    });
}
