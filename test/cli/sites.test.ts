/** `tessera sites credential`: a fresh credential and the hash the hub's config keeps. */
import { createHash } from 'node:crypto';
import { run } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { loadConfig } from '../../src/config/load';
import { siteForCredential } from '../../src/hub/middleware/site-credential';

async function credential(): Promise<{ credential: string; credentialHash: string }> {
  const output: string[] = [];
  const io: CliIo = { out: (t) => output.push(t), err: (t) => output.push(`ERR ${t}`), readSecret: async () => '', env: {} };
  expect(await run(['node', 'tessera', 'sites', 'credential'], io)).toBe(0);
  expect(output).toHaveLength(2);
  const [, value] = /^credential: +(\S+)$/.exec(output[0]!)!;
  const [, hash] = /^credentialHash: +(\S+)$/.exec(output[1]!)!;
  return { credential: value!, credentialHash: hash! };
}

describe('tessera sites credential', () => {
  it('prints a 256-bit base64url credential and its SHA-256, different each time', async () => {
    const a = await credential();
    const b = await credential();
    expect(a.credential).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.credential, 'base64url')).toHaveLength(32);
    expect(a.credentialHash).toBe(createHash('sha256').update(a.credential).digest('hex'));
    expect(b.credential).not.toBe(a.credential);
  });

  it('prints a pair the hub accepts: the hash configures the site, the credential authenticates it', async () => {
    const { credential: value, credentialHash } = await credential();
    const { config } = loadConfig({ env: { TESSERA_SITES: JSON.stringify([{ origin: 'https://www.example.org', credentialHash }]) } });
    expect(siteForCredential(config.sites, value)?.origin).toBe('https://www.example.org');
    const altered = `${value.slice(0, -1)}${value.endsWith('A') ? 'B' : 'A'}`;
    expect(siteForCredential(config.sites, altered)).toBeNull();
  });
});
