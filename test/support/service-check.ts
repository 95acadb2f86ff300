/**
 * Real Redis and PostgreSQL for the suites that need them. Outside CI a missing server skips
 * those suites with one clear line; with TESSERA_REQUIRE_REDIS=1 / TESSERA_REQUIRE_POSTGRES=1
 * (set by .ci/run) a missing server fails the run instead. Runs in jest's globalSetup, which has
 * no jest globals; suites import test/support/services.ts.
 */
import net from 'node:net';

export const redisUrl = process.env.TESSERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const databaseUrl = process.env.TESSERA_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const parsed = new URL(url);
  const port = parsed.port === '' ? defaultPort : Number(parsed.port);
  return new Promise((resolve) => {
    const socket = net.connect({ host: parsed.hostname, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function check(name: string, url: string, port: number, requireVar: string, flagVar: string): Promise<void> {
  const ok = await reachable(url, port);
  if (!ok && process.env[requireVar] === '1') {
    throw new Error(`${name} is required (${requireVar}=1) but does not answer at ${url}`);
  }
  if (!ok) console.warn(`SKIPPED: ${name} suites — no ${name} answers at ${url} (set ${requireVar}=1 to fail instead)`);
  process.env[flagVar] = ok ? '1' : '0';
}

/** Called from jest's globalSetup. */
export async function checkServices(): Promise<void> {
  await check('Redis', redisUrl, 6379, 'TESSERA_REQUIRE_REDIS', 'TESSERA_TEST_REDIS_UP');
  await check('PostgreSQL', databaseUrl, 5432, 'TESSERA_REQUIRE_POSTGRES', 'TESSERA_TEST_POSTGRES_UP');
}

