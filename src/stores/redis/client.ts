/**
 * The one place that turns a store URL into an ioredis client. Every client fails fast when
 * Redis is unreachable: a command is retried once after a reconnect and then rejected (the
 * stores turn that into `ERR_STORE_UNAVAILABLE`, 503), while the client keeps reconnecting in
 * the background, so the hub recovers by itself when Redis returns (SECURITY.md "Resilience").
 */
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { TesseraError } from '../../core/errors';
import type { Logger } from '../../log/logger';

/** A standalone/Sentinel client or a Cluster client; the stores work with either. */
export type RedisClient = Redis | Cluster;

/** Port used when a Sentinel address names none. */
const defaultSentinelPort = 26379;
/** Port used when a cluster node address names none. */
const defaultRedisPort = 6379;
/** Longest wait between two reconnect attempts (a few connects a second per hub are nothing to Redis). */
const maxReconnectDelayMs = 250;

/**
 * Settings every connection gets (each can be overridden through `options`):
 * - no auto-pipelining (`enableAutoPipelining: false`): ioredis would defer each command to the
 *   end of its turn and build a pipeline object for the batch (a copy of every defined script
 *   on it), which costs more than the batching saves (the batching itself is kept, cheaply:
 *   {@link writeOncePerTurn}). Measured (bench/README.md "http-account"): the same
 *   throughput at saturation (`/account`, the beacon accept, the warm loader, within noise), and
 *   at a steady rate 15 % less CPU per `/account` and its p99 from 4.9 to 3.1 ms at 1,300 req/s,
 *   from 40 to 16 ms at 5,300;
 * - `maxRetriesPerRequest: 1`: a command waits for at most one reconnect, then fails, instead of
 *   queueing until Redis comes back while requests pile up;
 * - `retryStrategy`: reconnect attempts at most `maxReconnectDelayMs` apart instead of ioredis's
 *   2 s. A command issued while Redis is down fails after two failed attempts: this bounds how
 *   long a request takes to get its 503 (under 1 s instead of up to 4 s under load, measured in
 *   test/faults/redis-restart.test.ts) and how soon the hub is back once Redis is;
 * - `connectTimeout` / `commandTimeout`: a Redis that accepts packets but never answers (a
 *   black-holed address) fails in seconds too.
 */
const connectionDefaults: RedisOptions = {
  enableAutoPipelining: false,
  maxRetriesPerRequest: 1,
  retryStrategy: (attempt) => Math.min(attempt * 50, maxReconnectDelayMs),
  connectTimeout: 5_000,
  commandTimeout: 5_000,
};

/**
 * Makes `redis` write every command issued in one turn of the event loop to its socket at once:
 * the first command of a turn corks the socket, and the turn's check phase (`setImmediate`, right
 * after the poll phase that ran the requests) uncorks it, so the commands of all the requests
 * read in that poll phase leave in one `writev`. A socket write to Redis costs more than
 * anything else a request does with it here (the kernel delivers the bytes to Redis within the
 * call); at saturation, with several requests per turn, this saves all but one of them: 5 % less
 * CPU per warm `loader.js`, 9 % per `session.json`, 14 % per `/account` (bench/README.md, "Redis
 * writes, one per turn").
 * A lone command waits only for the rest of its own turn. Order is the socket's, so replies
 * still match commands; a socket replaced by a reconnect is corked on its own.
 *
 * Not ioredis's auto-pipelining, which batches the same way but builds a pipeline object per
 * batch (with a copy of every defined script), costing more than the writes it saves.
 */
export function writeOncePerTurn<T extends Redis>(redis: T): T {
  const send = redis.sendCommand;
  const corked = new WeakSet<object>();
  redis.sendCommand = function (this: T, ...args: Parameters<Redis['sendCommand']>) {
    const socket = this.stream as Redis['stream'] | undefined;
    if (socket !== undefined && socket.writable && !corked.has(socket)) {
      corked.add(socket);
      socket.cork();
      setImmediate(() => {
        corked.delete(socket);
        socket.uncork();
      });
    }
    return send.apply(this, args);
  };
  return redis;
}

/**
 * Creates a Redis client for a store URL. Accepted forms:
 *
 * - `redis://[[username]:password@]host[:port][/db]`: a standalone server (port 6379, db 0 by
 *   default);
 * - `rediss://…`: the same over TLS;
 * - `redis+sentinel://[[username:]password@]host1:port,host2:port/masterName[/db]`: the master
 *   that these Sentinels name `masterName` (Sentinel port 26379 by default); the password is
 *   the master's, a Sentinel password goes in `options.sentinelPassword`;
 * - `redis+cluster://[[username:]password@]host1:port,host2:port`: a Redis Cluster reached
 *   through these seed nodes (port 6379 by default).
 *
 * User names and passwords are percent-decoded. `options` are ioredis connection options
 * merged over the defaults above (e.g. `tls`, `sentinelPassword`); for a cluster they apply to
 * every node. Attach an `'error'` listener (the composition root logs): ioredis reports
 * connection errors as events as well as by rejecting commands.
 *
 * Several stores may share the client; close it once with {@link closeRedisClient}.
 *
 * @example
 * const redis = createRedisClient('redis+sentinel://s3cret@10.0.0.1:26379,10.0.0.2:26379/tessera');
 * redis.on('error', (err) => logger.warn({ err }, 'redis connection error'));
 */
export function createRedisClient(url: string, options: RedisOptions = {}): RedisClient {
  const scheme = /^([a-z+]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'redis':
    case 'rediss':
      return writeOncePerTurn(new Redis(url, { ...connectionDefaults, ...options }));
    case 'redis+sentinel':
      return createSentinelClient(url, options);
    case 'redis+cluster':
      return createClusterClient(url, options);
    default:
      throw invalid(url, 'use redis://, rediss://, redis+sentinel:// or redis+cluster://');
  }
}

function createSentinelClient(url: string, options: RedisOptions): Redis {
  const match = /^redis\+sentinel:\/\/(?:([^@/]*)@)?([^@/]+)\/([^/]+)(?:\/(\d+))?\/?$/i.exec(url);
  if (match === null) throw invalid(url, 'expected redis+sentinel://[password@]host1:port,host2:port/masterName[/db]');
  const [, credentials, hosts = '', masterName = '', db] = match;
  return writeOncePerTurn(
    new Redis({
      ...connectionDefaults,
      ...parseCredentials(credentials),
      sentinels: parseHosts(url, hosts, defaultSentinelPort),
      name: decodeURIComponent(masterName),
      db: db === undefined ? 0 : Number(db),
      ...options,
    }),
  );
}

function createClusterClient(url: string, options: RedisOptions): Cluster {
  const match = /^redis\+cluster:\/\/(?:([^@/]*)@)?([^@/]+)\/?$/i.exec(url);
  if (match === null) throw invalid(url, 'expected redis+cluster://[password@]host1:port,host2:port');
  const [, credentials, hosts = ''] = match;
  const cluster = new Cluster(parseHosts(url, hosts, defaultRedisPort), {
    enableAutoPipelining: false,
    redisOptions: { ...connectionDefaults, ...parseCredentials(credentials), ...options },
  });
  cluster.on('+node', (node: Redis) => writeOncePerTurn(node));
  // A cluster client queues commands until it has mapped the slots, which start-up needs; after
  // that, a cluster that is down must fail commands at once rather than queue them until it
  // returns. ioredis reads this option on every command.
  cluster.once('ready', () => {
    cluster.options.enableOfflineQueue = false;
  });
  return cluster;
}

/**
 * Logs a lost connection once per outage (error level, `ERR_STORE_UNAVAILABLE`) and its return
 * (info), where ioredis would print every failed reconnect attempt to stderr — several a second
 * while Redis is down — for want of an `'error'` listener.
 *
 * @example
 * logConnectionState(redis, logger);
 */
export function logConnectionState(redis: RedisClient, logger: Pick<Logger, 'error' | 'info'>): void {
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger.error({ err, code: 'ERR_STORE_UNAVAILABLE' }, 'Redis connection lost');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({ store: 'redis' }, 'Redis connection restored');
  });
}

const closings = new WeakMap<RedisClient, Promise<void>>();

/**
 * Ends a client after its pending replies, once: every store sharing the client may call this
 * from its `close()`. A client that is not connected is dropped at once instead (QUIT would
 * wait for a reconnect that may never come).
 */
export function closeRedisClient(redis: RedisClient): Promise<void> {
  let closing = closings.get(redis);
  if (closing === undefined) {
    closing = redis.status === 'ready' ? redis.quit().then(() => undefined, () => redis.disconnect()) : Promise.resolve(redis.disconnect());
    closings.set(redis, closing);
  }
  return closing;
}

/** `[username:]password` (either part may be empty) as ioredis options. */
function parseCredentials(credentials: string | undefined): Pick<RedisOptions, 'username' | 'password'> {
  if (credentials === undefined || credentials === '') return {};
  const colon = credentials.indexOf(':');
  if (colon === -1) return { password: decodeURIComponent(credentials) };
  const username = decodeURIComponent(credentials.slice(0, colon));
  return { ...(username === '' ? {} : { username }), password: decodeURIComponent(credentials.slice(colon + 1)) };
}

/** `host1:port,host2:port` (IPv6 hosts in brackets) as ioredis node addresses. */
function parseHosts(url: string, hosts: string, defaultPort: number): { host: string; port: number }[] {
  return hosts.split(',').map((address) => {
    const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(address.trim());
    if (match === null) throw invalid(url, `"${address}" is not host:port`);
    const [, host = '', port] = match;
    return { host: host.replace(/^\[(.*)\]$/, '$1'), port: port === undefined ? defaultPort : Number(port) };
  });
}

/** The URL may hold a password: the message shows only its scheme. */
function invalid(url: string, detail: string): TesseraError {
  const scheme = /^[a-z+]*:/i.exec(url)?.[0] ?? '(no scheme)';
  return new TesseraError('ERR_CONFIG_INVALID', `invalid Redis URL (${scheme}…): ${detail}`);
}
