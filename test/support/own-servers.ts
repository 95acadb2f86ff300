/**
 * Redis and PostgreSQL servers of a test's own, on free loopback ports with their data in a
 * temporary directory, for the fault suites (test/faults/) that kill and restart them mid-load.
 * The shared servers (127.0.0.1:6379 and :5432) are never touched: other suites run on them.
 *
 * Without the binaries a suite is skipped with one line; with CI=true it fails instead
 * (.ci/run installs redis-server and PostgreSQL). PostgreSQL refuses to run as root, so as root
 * `initdb` and `pg_ctl` run as the `postgres` user (`runuser`), in a directory it owns.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const inCi = process.env.CI === 'true';

/** A free TCP port on loopback (bound once and released: fine for a test's own server). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function onPath(name: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

const redisServerPath = onPath('redis-server');

/** Where initdb and pg_ctl live: TESSERA_TEST_PG_BIN, else Debian's newest /usr/lib/postgresql/<n>/bin. */
function findPostgresBin(): string | null {
  const given = process.env.TESSERA_TEST_PG_BIN;
  if (given !== undefined) return existsSync(join(given, 'initdb')) ? given : null;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : join(root, versions[0], 'bin');
}

const postgresBin = findPostgresBin();
const isRoot = process.getuid?.() === 0;

/** Why a PostgreSQL of our own cannot run here, or null when it can. */
function postgresMissing(): string | null {
  if (postgresBin === null) return 'no PostgreSQL binaries under /usr/lib/postgresql/*/bin (set TESSERA_TEST_PG_BIN)';
  if (isRoot && (onPath('runuser') === null || !userExists('postgres'))) return 'running as root without runuser or a postgres user to run PostgreSQL as';
  return null;
}

function userExists(name: string): boolean {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function describeWhen(missing: string | null, suite: string): jest.Describe {
  if (missing !== null && !inCi) {
    process.stderr.write(`SKIPPED: ${suite} — ${missing}\n`);
    return describe.skip;
  }
  return describe;
}

/** `describe` when redis-server can run (or must: CI), `describe.skip` with one line otherwise. */
export function describeWithOwnRedis(suite: string): jest.Describe {
  return describeWhen(redisServerPath === null ? 'no redis-server on PATH (apt-get install redis-server)' : null, suite);
}

/** `describe` when a PostgreSQL cluster of our own can run (or must: CI), `describe.skip` otherwise. */
export function describeWithOwnPostgres(suite: string): jest.Describe {
  return describeWhen(postgresMissing(), suite);
}

/** Both, for suites that need Redis and PostgreSQL. */
export function describeWithOwnRedisAndPostgres(suite: string): jest.Describe {
  return describeWhen(redisServerPath === null ? 'no redis-server on PATH (apt-get install redis-server)' : postgresMissing(), suite);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

/** Sends one inline command and resolves with the first reply line ('' on any failure). */
function redisReply(port: number, command: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (line: string) => {
      socket.destroy();
      resolve(line);
    };
    socket.setTimeout(1000, () => done(''));
    socket.once('error', () => done(''));
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      const end = reply.indexOf('\r\n');
      if (end !== -1) done(reply.slice(0, end));
    });
  });
}

export interface OwnRedis {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** The server's working directory (AOF files). */
  dir: string;
  /** Kills the server (SIGKILL by default: a crash) and waits until it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and directory; resolves once it answers PING (its AOF loaded). */
  start(): Promise<void>;
  /** Kills the server and deletes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * A redis-server of the test's own. `appendonly` (default true) turns on the append-only file
 * with `appendfsync always`, so a write Redis acknowledged survives a kill; RDB snapshots are off
 * and `maxmemory-policy noeviction`, as docs/operations.md asks of production.
 */
export async function startOwnRedis(options: { appendonly?: boolean } = {}): Promise<OwnRedis> {
  if (redisServerPath === null) throw new Error('CI=true and no redis-server on PATH: the fault suites must run in CI (.ci/run installs it)');
  const appendonly = options.appendonly ?? true;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-redis-'));
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no',
    '--appendonly', appendonly ? 'yes' : 'no', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction',
    '--logfile', join(dir, 'redis.log'),
  ];
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const start = async () => {
    const spawned = spawn(redisServerPath, args, { stdio: 'ignore' });
    child = spawned;
    exited = new Promise((resolve) => spawned.once('exit', () => resolve()));
    await waitFor(`redis-server on port ${port}`, async () => (await redisReply(port, 'PING')) === '+PONG', 15_000);
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child !== null && child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
    child = null;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    kill,
    start,
    stop: async () => {
      await kill();
      process.removeListener('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface OwnPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  url: string;
  port: number;
  /** `pg_ctl stop -m fast` (the default; `immediate` is a crash) and wait until it is down. */
  stopServer(mode?: 'fast' | 'immediate'): Promise<void>;
  /** `pg_ctl start` and wait until it accepts connections. */
  startServer(): Promise<void>;
  /** Stops the server for good and deletes its cluster directory. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * A PostgreSQL cluster of the test's own: `initdb` into a temporary directory, then `pg_ctl`
 * on a free loopback port with its socket in that directory. Takes a few seconds.
 */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const missing = postgresMissing();
  if (missing !== null || postgresBin === null) throw new Error(`CI=true and ${missing}: the fault suites must run in CI`);
  const bin = postgresBin;
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), 'tessera-pg-'));
  const data = join(root, 'data');
  const sockets = join(root, 'sockets');
  mkdirSync(sockets);
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(root, uid, gid);
    chownSync(sockets, uid, gid);
  }
  const asPostgres = (tool: string, args: string[]) => (isRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]) : run(join(bin, tool), args));
  const pgCtl = (args: string[]) => asPostgres('pg_ctl', ['-D', data, ...args]);

  await asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const serverOptions = `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1 -c max_connections=40 -c shared_buffers=16MB`;
  let running = false;
  const startServer = async () => {
    await pgCtl(['-l', join(root, 'server.log'), '-w', '-t', '30', '-o', serverOptions, 'start']);
    running = true;
  };
  const stopServer = async (mode: 'fast' | 'immediate' = 'fast') => {
    await pgCtl(['-w', '-t', '30', '-m', mode, 'stop']);
    running = false;
  };
  const stopOnExit = () => {
    if (!running) return;
    try {
      execFileSync(isRoot ? 'runuser' : join(bin, 'pg_ctl'), [...(isRoot ? ['-u', 'postgres', '--', join(bin, 'pg_ctl')] : []), '-D', data, '-m', 'immediate', 'stop'], { stdio: 'ignore' });
    } catch {
      // Best effort while the process exits.
    }
  };
  process.once('exit', stopOnExit);
  await startServer();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stopServer,
    startServer,
    stop: async () => {
      if (running) await stopServer('immediate').catch(() => undefined);
      process.removeListener('exit', stopOnExit);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
