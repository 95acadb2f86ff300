/**
 * `tessera sites credential`: a new credential for a site's calls to the hub's site API. The
 * credential (256 random bits, base64url) goes to the site, once; the hub's configuration keeps
 * only its SHA-256 (`sites[].credentialHash`), so the config file alone cannot call the API.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import type { CliIo } from '../io';

/** A fresh credential and the hash to configure for it. */
export function newSiteCredential(): { credential: string; credentialHash: string } {
  const credential = randomBytes(32).toString('base64url');
  return { credential, credentialHash: createHash('sha256').update(credential).digest('hex') };
}

export function registerSitesCommands(program: Command, io: CliIo): void {
  const sites = program.command('sites').description('site API credentials');

  sites
    .command('credential')
    .description("print a new site API credential (give it to the site) and its SHA-256 (put it in the site's credentialHash)")
    .action(() => {
      const { credential, credentialHash } = newSiteCredential();
      io.out(`credential:     ${credential}`);
      io.out(`credentialHash: ${credentialHash}`);
    });
}
