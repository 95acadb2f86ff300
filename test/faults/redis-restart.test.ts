/**
 * Issue 7, "Faults": Redis restarted during a steady load of sign-ins and handoffs. A hub
 * process runs on a Redis of this test's own (append-only file, `appendfsync always`) while
 * three loops sign in, take a beacon to shop and bounce to blog. Redis is killed (SIGKILL: a
 * crash, not a clean shutdown) and started again. Checked (SECURITY.md "Resilience"):
 * - during the outage every request that needs Redis answers 503 `ERR_STORE_UNAVAILABLE`
 *   promptly and sets no session or site cookie; nothing is ever a 500; `/healthz` stays 200
 *   and `/readyz` is 503;
 * - the hub recovers by itself (no restart) once Redis is back;
 * - every session, site cookie and bounce the hub accepted before the crash still works.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHubProcess, type HubProcess } from '../support/hub-process';
import { describeWithOwnRedis, startOwnRedis, type OwnRedis } from '../support/own-servers';
import {
  BLOG_HOST,
  HUB,
  HUB_HOST,
  SHOP_HOST,
  HubBrowser,
  addFaultUser,
  allSteps,
  errorCode,
  faultHubEnv,
  holdHandoffs,
  hubSid,
  loadLoop,
  setsSessionCookie,
  signInJourney,
  sleep,
  stillAccepted,
  waitForStatus,
  waitUntil,
  type Journey,
  type Step,
} from './support';

jest.setTimeout(60_000);

describeWithOwnRedis('fault suite: Redis restarted under load')('Redis restarted during a steady load of sign-ins and handoffs', () => {
  let redis: OwnRedis | undefined;
  let hub: HubProcess | undefined;
  let dir: string;
  let load: ReturnType<typeof loadLoop> | undefined;

  beforeAll(async () => {
    redis = await startOwnRedis({ appendonly: true });
    dir = mkdtempSync(join(tmpdir(), 'tessera-fault-redis-'));
    // Users, audit log and outbox stay in the default SQLite file (under dir): only Redis fails.
    const env = faultHubEnv(dir, { TESSERA_STORE: redis.url, TESSERA_STORE_PREFIX: 'fault:' });
    await addFaultUser(env, dir);
    hub = await startHubProcess(env, 20_000, { cwd: dir });
  });

  afterAll(async () => {
    await load?.stop();
    await hub?.kill();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 without cookies while Redis is down, recovers by itself, and loses no accepted session', async () => {
    const target = { hubUrl: hub!.url };
    load = loadLoop(target, 3);

    // Steady state: the loops complete journeys.
    await waitUntil('3 journeys before the crash', () => load!.journeys.filter((j) => j.bounceAccepted).length >= 3, 20_000);
    const before: Journey[] = [...load.journeys];
    // Handoffs minted before the crash, presented during the outage and again after it.
    const held = await holdHandoffs(hub!.url);

    // Crash Redis under load.
    await redis!.kill('SIGKILL');
    const downAt = performance.now();

    // Probes of one browser already signed in, and the endpoints an orchestrator polls.
    const signedIn = before.find((j) => j.bounceAccepted)!;
    const probe = new HubBrowser(hub!.url);
    for (const [host, jar] of signedIn.browser.jars) probe.jars.set(host, new Map(jar));
    await sleep(300);
    expect((await probe.get(HUB_HOST, '/healthz', { accept: 'application/json' })).status).toBe(200);
    const ready = await probe.get(HUB_HOST, '/readyz', { accept: 'application/json' });
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'unavailable', code: 'ERR_STORE_UNAVAILABLE' });
    const account = await probe.get(HUB_HOST, '/account');
    expect(account.status).toBe(503);
    expect(errorCode(account)).toBe('ERR_STORE_UNAVAILABLE');
    expect(setsSessionCookie(account)).toBe(false);
    const session = await probe.get(SHOP_HOST, '/shared-session/session.json', { accept: 'application/json' });
    expect(session.status).toBe(503);
    expect(errorCode(session)).toBe('ERR_STORE_UNAVAILABLE');
    // The accept path fails closed: a beacon and a bounce's return are refused, no cookie set.
    const heldBeacon = await held.journey.browser.get(SHOP_HOST, held.beacon, { referer: `${HUB}/` });
    const heldAccept = await held.journey.browser.post(BLOG_HOST, '/shared-session/accept', held.blogForm);
    for (const reply of [heldBeacon, heldAccept]) {
      expect({ status: reply.status, code: errorCode(reply), cookie: setsSessionCookie(reply) }).toEqual({ status: 503, code: 'ERR_STORE_UNAVAILABLE', cookie: false });
    }
    // A fresh visitor signing in during the outage gets a 503 and no cookie.
    const during = await signInJourney(hub!.url);
    expect(during.signedIn).toBe(false);
    const refused = during.steps.find((s) => s.name === 'POST /login')!;
    expect(refused.reply?.status).toBe(503);
    expect(errorCode(refused.reply!)).toBe('ERR_STORE_UNAVAILABLE');
    expect(setsSessionCookie(refused.reply!)).toBe(false);

    // The load keeps running through the outage.
    await sleep(2500);
    expect((await probe.get(HUB_HOST, '/healthz', { accept: 'application/json' })).status).toBe(200);
    const upAt = performance.now();
    await redis!.start();

    // The hub reconnects by itself: ready again, and new journeys complete, without a restart.
    const recoveryMs = await waitForStatus(hub!.url, '/readyz', 200, 15_000);
    const countAtRecovery = load.journeys.length;
    await waitUntil('2 journeys after recovery', () => load!.journeys.slice(countAtRecovery).filter((j) => j.bounceAccepted).length >= 2, 15_000);
    await load.stop();
    const afterRecovery = load.journeys.slice(countAtRecovery);

    // The tokens refused during the outage were not spent: presented again, they are accepted.
    const beaconAgain = await held.journey.browser.get(SHOP_HOST, held.beacon, { referer: `${HUB}/` });
    expect({ status: beaconAgain.status, cookie: setsSessionCookie(beaconAgain) }).toEqual({ status: 200, cookie: true });
    const acceptAgain = await held.journey.browser.post(BLOG_HOST, '/shared-session/accept', held.blogForm);
    expect({ status: acceptAgain.status, cookie: setsSessionCookie(acceptAgain) }).toEqual({ status: 303, cookie: true });
    held.journey.beaconAccepted = true;
    held.journey.bounceAccepted = true;

    // Every answer: never a 500; a 503 is ERR_STORE_UNAVAILABLE and sets no session/site cookie.
    const steps = [...allSteps(load.journeys), ...during.steps];
    for (const s of steps) {
      expect({ step: s.name, error: s.error }).toEqual({ step: s.name, error: null });
      const reply = s.reply!;
      if (reply.status >= 400) {
        expect({ step: s.name, code: errorCode(reply), cookie: setsSessionCookie(reply) }).toEqual({ step: s.name, code: 'ERR_STORE_UNAVAILABLE', cookie: false });
      }
    }
    // Requests sent entirely within the outage: every one that needs Redis was refused, promptly.
    const inOutage = (s: Step) => s.startedAt > downAt && s.endedAt < upAt;
    const outage = steps.filter(inOutage);
    const needing = outage.filter((s) => s.needsStore);
    expect(needing.length).toBeGreaterThanOrEqual(3);
    for (const s of needing) expect({ step: s.name, status: s.reply!.status }).toEqual({ step: s.name, status: 503 });
    // Fail fast: about a second at most (reconnect attempts 250 ms apart, a command failed after
    // one retry), where ioredis's default back-off of up to 2 s per attempt made it up to 4 s.
    const slowest = Math.max(...needing.map((s) => s.reply!.ms));
    expect(slowest).toBeLessThan(3000);
    // The rest (login page, bounce start) never needed Redis and still answered.
    for (const s of outage.filter((x) => !x.needsStore)) expect(s.reply!.status).toBeLessThan(400);

    // The operator reads one line when Redis goes and one when it is back, not one per
    // reconnect attempt (ioredis prints each to stderr unless the 'error' event is handled).
    const lines = (msg: string) => hub!.logs.filter((l) => l.msg === msg);
    expect(lines('Redis connection lost')).toEqual([expect.objectContaining({ level: 50, code: 'ERR_STORE_UNAVAILABLE' })]);
    expect(lines('Redis connection restored')).toHaveLength(1);

    // Nothing the hub accepted — before the crash, in flight across it, or after — was lost.
    const accepted = [...load.journeys.filter((j) => j.signedIn), held.journey];
    for (const journey of accepted) {
      const sid = hubSid(journey);
      const now = await stillAccepted(journey, hub!.url);
      expect(now).toEqual({ account: 200, shop: journey.beaconAccepted ? sid : null, blog: journey.bounceAccepted ? sid : null });
    }
    // Figures for the report (visible with --verbose).
    console.info(
      `redis restart: ${before.length} journeys before the crash, ${needing.length} requests refused during the outage (slowest ${Math.round(slowest)} ms), ` +
        `ready ${Math.round(recoveryMs)} ms after Redis answered again, ${afterRecovery.length} journeys after; ${accepted.length} sessions verified`,
    );
  });
});
