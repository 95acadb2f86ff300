/**
 * Issue 7, "Distributed mode": the hub runs on Redis Cluster (`redis+cluster://`) and Redis
 * Sentinel (`redis+sentinel://`) for real. The suite starts its own redis-server processes on
 * free loopback ports — a three-master cluster, and a master watched by one Sentinel — runs two
 * hub instances on each, and checks that a login on one instance and the handoff accepted on the
 * other work, and that the token is single use there too. Everything it started is killed.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { describeWithOwnRedis, freePort } from '../support/own-servers';
import { eventually, getWithHost, newClient, signIn, startHubPair, type HubPair } from './support';

const run = promisify(execFile);
const blog = 'https://blog.example.org';
const sites = JSON.stringify([{ origin: blog, cookie: { name: 'blog_session' } }]);

/** redis-server processes of this file, killed in afterAll (and on exit, should jest bail). */
const children: ChildProcess[] = [];
const killAll = () => children.forEach((child) => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));

function redisServer(dir: string, args: string[]): ChildProcess {
  const child = spawn('redis-server', [...args, '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

async function answers(port: number, check: (redis: Redis) => Promise<boolean>, what: string): Promise<void> {
  await eventually(async () => {
    const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return (await check(redis)) ? true : undefined;
    } catch {
      return undefined;
    } finally {
      redis.disconnect();
    }
  }, 10_000, what);
}

/** Three masters, slots split by `redis-cli --cluster create`; resolves with the seed URL. */
async function startCluster(dir: string): Promise<string> {
  const ports = [await freePort(), await freePort(), await freePort()];
  for (const port of ports) {
    redisServer(dir, ['--port', String(port), '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '5000']);
  }
  for (const port of ports) await answers(port, async (r) => (await r.ping()) === 'PONG', `cluster node ${port}`);
  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
  for (const port of ports) {
    await answers(port, async (r) => String(await r.call('CLUSTER', 'INFO')).includes('cluster_state:ok'), `cluster state ok on ${port}`);
  }
  return `redis+cluster://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`;
}

/** A master and one Sentinel that monitors it as `tessera`; resolves with the Sentinel URL. */
async function startSentinel(dir: string): Promise<string> {
  const master = await freePort();
  const sentinel = await freePort();
  redisServer(dir, ['--port', String(master)]);
  await answers(master, async (r) => (await r.ping()) === 'PONG', 'the Sentinel master');
  // Sentinel rewrites its configuration file, so it must be a file of its own.
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, [`port ${sentinel}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor tessera 127.0.0.1 ${master} 1`, 'sentinel down-after-milliseconds tessera 5000', ''].join('\n'));
  const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  children.push(child);
  await answers(sentinel, async (r) => {
    const address = (await r.call('SENTINEL', 'get-master-addr-by-name', 'tessera')) as string[] | null;
    return address?.[1] === String(master);
  }, 'the Sentinel knowing its master');
  return `redis+sentinel://127.0.0.1:${sentinel}/tessera`;
}

/** Login on instance 1, the bounce's token accepted by instance 2 as the blog's receiver, once. */
async function loginAndAccept(pair: HubPair): Promise<void> {
  const [one, two] = pair.hubs;
  const client = newClient();
  await signIn(client, 'ada@example.com', one.url);
  expect((await client.get(`${two.url}/account`)).status).toBe(200);
  const query = new URLSearchParams({ dst: blog, return_to: `${blog}/`, state: randomBytes(16).toString('base64url') });
  const token = /name="token" value="([^"]+)"/.exec((await client.get(`${one.url}/handoff?${query.toString()}`)).body)![1]!;
  const [first, second] = await Promise.all([
    getWithHost(`${two.url}/shared-session/${token}.js`, 'blog.example.org'),
    getWithHost(`${one.url}/shared-session/${token}.js`, 'blog.example.org'),
  ]);
  expect([first.status, second.status].sort()).toEqual([200, 400]);
  const accepted = first.status === 200 ? first : second;
  expect(accepted.headers['set-cookie']?.some((line) => line.startsWith('blog_session='))).toBe(true);
  // The site's session is readable through either instance (the hub as the blog's receiver).
  const cookie = accepted.headers['set-cookie']!.find((line) => line.startsWith('blog_session='))!.split(';')[0]!;
  for (const hub of [one, two]) {
    const session = await getWithHost(`${hub.url}/shared-session/session.json`, 'blog.example.org', { cookie, accept: 'application/json' });
    expect(session.status).toBe(200);
    expect(JSON.parse(session.body)).toMatchObject({ sub: expect.any(String) });
  }
}

/** Own redis-server processes, and the shared PostgreSQL for users (test/support/service-check.ts). */
const describeTopologies = process.env.TESSERA_TEST_POSTGRES_UP === '1' ? describeWithOwnRedis('Redis Cluster and Sentinel') : describe.skip;

describeTopologies('the hub on Redis Cluster and Redis Sentinel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-topologies-'));
  process.once('exit', killAll);
  afterAll(() => {
    killAll();
    process.removeListener('exit', killAll);
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs in and accepts handoffs on two instances over redis+cluster://', async () => {
    const url = await startCluster(mkdtempSync(join(dir, 'cluster-')));
    const pair = await startHubPair({ TESSERA_SITES: sites }, { store: url });
    try {
      await pair.addUser('ada@example.com');
      await loginAndAccept(pair);
      expect(pair.hubs[0].logs.find((line) => line.msg === 'hub listening')?.store).toBe('redis');
    } finally {
      await pair.stop();
    }
  }, 30_000);

  it('logs in and accepts handoffs on two instances over redis+sentinel://', async () => {
    const url = await startSentinel(mkdtempSync(join(dir, 'sentinel-')));
    const pair = await startHubPair({ TESSERA_SITES: sites }, { store: url });
    try {
      await pair.addUser('ada@example.com');
      await loginAndAccept(pair);
    } finally {
      await pair.stop();
    }
  }, 30_000);
});
