/**
 * Two real hub processes (`node dist/cli/main.js serve`) on one Redis and one PostgreSQL, as an
 * operator runs them behind a load balancer: the same TESSERA_* configuration, a random
 * `TESSERA_STORE_PREFIX`, a PostgreSQL schema of their own (`?schema=` in TESSERA_DATABASE),
 * and one temporary `keys/` directory both read. Everything is removed again by `stop()`.
 *
 * The two instances start at the same moment, so every suite also shows that the PostgreSQL
 * migrations, run under an advisory lock, let several instances start together.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { systemClock } from '../../src/core/clock';
import { Keyring } from '../../src/core/keys/keyring';
import { DirectoryKeyStore } from '../../src/stores/keys-dir/key-store';
import { createPool } from '../../src/stores/postgres/database';
import { PostgresUserStore } from '../../src/stores/postgres/user-store';
import { hashPassword } from '../../src/users/password';
import { createRedisClient, type RedisClient } from '../../src/stores/redis/client';
import { CookieClient, csrfFrom, type ClientResponse } from '../support/client';
import { startHubProcess, type HubProcess } from '../support/hub-process';
import { databaseUrl, redisUrl } from '../support/services';

const cliPath = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

/** The hub's public origin in these suites; requests reach each instance on its own port. */
export const hubOrigin = 'https://hub.example.com';
/** What a browser sends with a same-origin form POST to the hub. */
export const sameOrigin = { origin: hubOrigin, 'sec-fetch-site': 'same-origin' };
export const password = 'correct horse battery staple';

/** `describe` when both Redis and PostgreSQL answer (see test/support/service-check.ts). */
export const describeDistributed: jest.Describe = process.env.TESSERA_TEST_REDIS_UP === '1' && process.env.TESSERA_TEST_POSTGRES_UP === '1' ? describe : describe.skip;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface HubPair {
  /** Instance 1 and instance 2. */
  hubs: [HubProcess, HubProcess];
  /** The configuration both instances (and the CLI) run with. */
  env: Record<string, string>;
  keysDir: string;
  /** A client on the same Redis keys, for looking at what the hubs stored. */
  redis: RedisClient;
  /** A pool on the hubs' PostgreSQL schema. */
  pool: Pool;
  /** Runs `tessera <args>` with the hubs' configuration; `stdin` is written to standard input. */
  cli(args: string[], stdin?: string): Promise<CliResult>;
  /** Creates a user with {@link password} in the instances' PostgreSQL schema. */
  addUser(email: string): Promise<void>;
  /** Stops both hubs and removes the Redis keys, the schema and the temporary directories. */
  stop(): Promise<void>;
}

/** Runs the built CLI with exactly `env` on top of a TESSERA_-free environment. */
export function runCli(env: Record<string, string>, args: string[], stdin?: string): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TESSERA_'))) as Record<string, string>;
  const child = spawn(process.execPath, [cliPath, ...args], { env: { ...base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(stdin ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Starts two hub instances on one store. `env` is added to the shared configuration (sites,
 * limits, intervals). The first signing key is created in the shared `keys/` before the
 * instances start, as an operator's deployment would, so no two instances generate one at once.
 * `options.store` is a Redis URL of the test's own (Sentinel, Cluster) instead of the shared
 * Redis; the test removes that server itself.
 */
export async function startHubPair(env: Record<string, string> = {}, options: { store?: string } = {}): Promise<HubPair> {
  const id = randomBytes(6).toString('hex');
  const schema = `test_dist_${id}`;
  const prefix = `tessera-dist-${id}:`;
  const dir = mkdtempSync(join(tmpdir(), 'tessera-dist-'));
  const keysDir = join(dir, 'keys');
  const database = new URL(databaseUrl);
  database.searchParams.set('schema', schema);

  const admin = createPool(databaseUrl);
  await admin.query(`CREATE SCHEMA ${schema}`);
  const pool = createPool(databaseUrl, { schema });
  const storeUrl = options.store ?? redisUrl;
  const redis = createRedisClient(storeUrl);
  redis.on('error', () => undefined);

  const shared: Record<string, string> = {
    TESSERA_ENV: 'development',
    TESSERA_PUBLIC_URL: hubOrigin,
    TESSERA_STORE: storeUrl,
    TESSERA_STORE_PREFIX: prefix,
    TESSERA_DATABASE: database.toString(),
    TESSERA_KEYS_DIR: keysDir,
    TESSERA_MAIL_TRANSPORT: 'file',
    TESSERA_MAIL_DIR: join(dir, 'mail'),
    TESSERA_LOG_LEVEL: 'info',
    ...env,
  };
  const hubs: HubProcess[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(hubs.map((hub) => hub.stop()));
    await pool.end();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    if (options.store === undefined) await deleteKeys(redis as Redis, prefix);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await Keyring.open(new DirectoryKeyStore(keysDir), { algorithm: 'RS256', clock: systemClock, maxTokenTtlSeconds: 35, jwksMaxAgeSeconds: 300 });
    const started = await Promise.allSettled([startHubProcess({ ...shared }), startHubProcess({ ...shared })]);
    for (const result of started) if (result.status === 'fulfilled') hubs.push(result.value);
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  } catch (err) {
    await cleanup();
    throw err;
  }

  return {
    hubs: [hubs[0]!, hubs[1]!],
    env: shared,
    keysDir,
    redis,
    pool,
    cli: (args, stdin) => runCli(shared, args, stdin),
    addUser: async (email) => {
      // The instances have migrated the schema by now; the store opens without migrating again.
      const users = await PostgresUserStore.open(pool, { clock: systemClock });
      await users.create({ email, name: email.split('@')[0]!, passwordHash: await hashPassword(password) });
    },
    stop: cleanup,
  };
}

/** Removes every key under `prefix` (never anything else: other suites share this Redis). */
async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/**
 * Signs in with a password: the login page from `pageFrom`, the POST to `postTo` (either may be
 * either instance). Resolves with the POST's answer (a 303 to the account page, or with sites
 * configured the 200 fan-out page); the client keeps the cookies. Throws when no session began.
 */
export async function signIn(client: CookieClient, email: string, pageFrom: string, postTo: string = pageFrom): Promise<ClientResponse> {
  const page = await client.get(`${pageFrom}/login`);
  const res = await client.post(`${postTo}/login`, { _csrf: csrfFrom(page.body), email, password }, sameOrigin);
  if (!res.setCookies.some((line) => line.startsWith('__Host-tessera=') && !line.startsWith('__Host-tessera=;'))) {
    throw new Error(`sign-in as ${email} failed with ${res.status}`);
  }
  return res;
}

/** A client that keeps the hub's cookies whichever instance it talks to (absolute URLs). */
export function newClient(): CookieClient {
  return new CookieClient(hubOrigin, { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' });
}

/** A raw GET with a chosen Host header (fetch does not let a caller set Host). */
export function getWithHost(url: string, host: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { ...headers, host }, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** Log lines of `hub` (JSON objects) that have every given field value. */
export function logLines(hub: HubProcess, fields: Record<string, unknown>): Record<string, unknown>[] {
  return hub.logs.filter((line) => Object.entries(fields).every(([key, value]) => line[key] === value));
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
