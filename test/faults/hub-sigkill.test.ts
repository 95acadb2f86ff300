/**
 * Issue 7, "Faults": the hub killed with SIGKILL in the middle of a load of sign-ins, handoffs
 * and sign-outs, then started again on the same stores — once on the embedded SQLite file and
 * once on Redis + PostgreSQL (servers of this test's own). Shop has a back-channel logout
 * endpoint on loopback, which refuses (503) until the hub has restarted, so every logout the hub
 * accepted is still waiting in the outbox when the hub dies. Checked: every request that got a
 * 2xx before the kill is still reflected afterwards — sessions and site cookies live, signed-out
 * sessions ended, their outbox entries present — and the restarted hub delivers every one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHubProcess, type HubProcess } from '../support/hub-process';
import { describeWithOwnRedisAndPostgres, startOwnPostgres, startOwnRedis, type OwnPostgres, type OwnRedis } from '../support/own-servers';
import {
  BLOG,
  SHOP,
  addFaultUser,
  faultHubEnv,
  hubSid,
  loadLoop,
  runCli,
  signInAndOutJourney,
  signInJourney,
  stillAccepted,
  waitUntil,
  type Journey,
} from './support';

jest.setTimeout(60_000);

/** A site's back-channel logout endpoint: records the `sid` of every logout token it accepts. */
interface BackChannel {
  url: string;
  /** While false it answers 503, as a site that is down. */
  accepting: boolean;
  delivered: Set<string>;
  close(): Promise<void>;
}

async function startBackChannel(): Promise<BackChannel> {
  const channel = { accepting: false, delivered: new Set<string>() } as BackChannel;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (!channel.accepting) {
        res.writeHead(503).end();
        return;
      }
      const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('logout_token') ?? '';
      const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8') || '{}') as { sid?: string };
      if (typeof claims.sid === 'string') channel.delivered.add(claims.sid);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  channel.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/shared-session/backchannel-logout`;
  channel.close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return channel;
}

/**
 * The scenario on whichever stores `env` names: load, SIGKILL, outbox checked while the hub is
 * dead, restart, then everything accepted before the kill checked on the new process.
 */
async function killMidLoad(env: Record<string, string>, dir: string, channel: BackChannel, hubs: HubProcess[]): Promise<string> {
  const first = await startHubProcess(env, 20_000, { cwd: dir });
  hubs.push(first);
  const target = { hubUrl: first.url };
  // Half the journeys end by signing out, which queues a back-channel logout for shop.
  const load = loadLoop(target, 3, [signInJourney, signInAndOutJourney]);
  try {
    await waitUntil(
      'journeys of both kinds before the kill',
      () => load.journeys.filter((j) => j.signOut === 'done').length >= 3 && load.journeys.filter((j) => j.bounceAccepted && j.signOut === 'none').length >= 3,
      40_000,
    );
    await first.kill();
  } finally {
    await load.stop();
  }
  const journeys: Journey[] = load.journeys;
  const signedOut = journeys.filter((j) => j.signOut === 'done');
  // A journey whose last request died with the hub has an unknown outcome for that request only.
  const kept = journeys.filter((j) => j.signedIn && j.signOut === 'none');

  // While the hub is dead: every accepted sign-out has its delivery waiting in the outbox.
  const pending = await runCli(['outbox', 'list', '--status', 'pending', '--site', SHOP], env, dir);
  for (const journey of signedOut) expect(pending).toContain(hubSid(journey)!);

  // The site comes back before the hub does, so the restarted worker's attempts are not refused.
  channel.accepting = true;
  const siteBackAt = performance.now();
  const second = await startHubProcess(env, 20_000, { cwd: dir });
  hubs.push(second);
  for (const journey of kept) {
    const sid = hubSid(journey);
    expect(await stillAccepted(journey, second.url)).toEqual({ account: 200, shop: journey.beaconAccepted ? sid : null, blog: journey.bounceAccepted ? sid : null });
  }
  // Signed-out sessions stay ended: the old hub cookie and the site cookies are refused.
  for (const journey of signedOut) expect(await stillAccepted(journey, second.url)).toEqual({ account: 303, shop: null, blog: null });

  // The restarted hub's worker delivers every queued logout (at least once). A delivery leased by
  // the killed worker at the moment of the kill is due again when its 30-second lease ends; the
  // others when their back-off says (seconds: they were refused only a few times).
  const expected = signedOut.map((j) => hubSid(j)!);
  await waitUntil('every queued logout delivered', () => expected.every((sid) => channel.delivered.has(sid)), 40_000);
  return `${journeys.length} journeys, ${kept.length} sessions kept, ${signedOut.length} sign-outs delivered ${Math.round(performance.now() - siteBackAt)} ms after the site came back`;
}

describe('the hub killed with SIGKILL mid-load and restarted', () => {
  const hubs: HubProcess[] = [];
  let channel: BackChannel;
  let dir: string;
  const sites = () => [{ origin: SHOP, backchannelLogoutUri: channel.url }, { origin: BLOG }];

  beforeEach(async () => {
    channel = await startBackChannel();
    dir = mkdtempSync(join(tmpdir(), 'tessera-fault-kill-'));
  });

  afterEach(async () => {
    for (const hub of hubs.splice(0)) await hub.kill();
    await channel.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('on the embedded SQLite file: loses no accepted session, sign-out or outbox entry', async () => {
    const env = faultHubEnv(dir, { TESSERA_STORE: `sqlite:${join(dir, 'tessera.db')}` }, sites());
    await addFaultUser(env, dir);
    console.info(`SIGKILL on SQLite: ${await killMidLoad(env, dir, channel, hubs)}`);
  });

  describeWithOwnRedisAndPostgres('fault suite: hub SIGKILL on Redis + PostgreSQL')('on Redis + PostgreSQL', () => {
    let redis: OwnRedis | undefined;
    let postgres: OwnPostgres | undefined;
    beforeAll(async () => {
      [redis, postgres] = await Promise.all([startOwnRedis({ appendonly: false }), startOwnPostgres()]);
    });
    afterAll(async () => {
      await redis?.stop();
      await postgres?.stop();
    });

    it('loses no accepted session, sign-out or outbox entry', async () => {
      const env = faultHubEnv(dir, { TESSERA_STORE: redis!.url, TESSERA_DATABASE: postgres!.url }, sites());
      await addFaultUser(env, dir);
      console.info(`SIGKILL on Redis + PostgreSQL: ${await killMidLoad(env, dir, channel, hubs)}`);
    });
  });
});
