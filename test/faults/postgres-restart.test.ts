/**
 * Issue 7, "Faults": PostgreSQL restarted during a steady load of sign-ins and handoffs. A hub
 * process keeps users, audit log and outbox in a PostgreSQL cluster of this test's own
 * (`TESSERA_DATABASE`), sessions in SQLite. The cluster is stopped (`pg_ctl stop -m fast`, which
 * also ends the pool's open connections) and started again. Checked:
 * - during the outage a sign-in, a page of a signed-in person and a sign-out answer 503
 *   `ERR_STORE_UNAVAILABLE` — never a 500, never a session cookie — and a sign-out that failed
 *   ended nothing; accepting a handoff, which needs only the session store, still works;
 *   `/healthz` stays 200, `/readyz` is 503;
 * - the pg pool reconnects by itself: sign-ins work again without restarting the hub;
 * - every session and handoff accepted before the outage still works afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHubProcess, type HubProcess } from '../support/hub-process';
import { describeWithOwnPostgres, startOwnPostgres, type OwnPostgres } from '../support/own-servers';
import {
  BLOG_HOST,
  HUB,
  HUB_HOST,
  HubBrowser,
  addFaultUser,
  allSteps,
  errorCode,
  faultHubEnv,
  hiddenField,
  holdHandoffs,
  hubSid,
  loadLoop,
  SHOP_HOST,
  setsSessionCookie,
  signInJourney,
  sleep,
  stillAccepted,
  waitForStatus,
  waitUntil,
  type Journey,
} from './support';

jest.setTimeout(60_000);

/** The steps of a journey that read users (PostgreSQL here): sign-in and the hub session of a signed-in person. */
const needsDatabase = new Set(['POST /login', 'GET /handoff']);

describeWithOwnPostgres('fault suite: PostgreSQL restarted under load')('PostgreSQL restarted during a steady load of sign-ins and handoffs', () => {
  let postgres: OwnPostgres | undefined;
  let hub: HubProcess | undefined;
  let dir: string;
  let load: ReturnType<typeof loadLoop> | undefined;

  beforeAll(async () => {
    postgres = await startOwnPostgres();
    dir = mkdtempSync(join(tmpdir(), 'tessera-fault-pg-'));
    const env = faultHubEnv(dir, { TESSERA_STORE: `sqlite:${join(dir, 'sessions.db')}`, TESSERA_DATABASE: postgres.url });
    await addFaultUser(env, dir);
    hub = await startHubProcess(env, 20_000, { cwd: dir });
  });

  afterAll(async () => {
    await load?.stop();
    await hub?.kill();
    await postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 without cookies while PostgreSQL is down, reconnects by itself, and loses nothing', async () => {
    load = loadLoop({ hubUrl: hub!.url }, 3);
    await waitUntil('3 journeys before the outage', () => load!.journeys.filter((j) => j.bounceAccepted).length >= 3, 20_000);

    // A signed-in person about to sign out: the logout page's CSRF token, taken beforehand.
    const leaving = await signInJourney(hub!.url);
    expect(leaving.signedIn).toBe(true);
    const logoutPage = await leaving.browser.get(HUB_HOST, '/logout');
    const csrf = hiddenField(logoutPage.body, '_csrf')!;

    // Handoffs minted before the outage: accepting one needs the session store (SQLite here), not PostgreSQL.
    const held = await holdHandoffs(hub!.url);

    await postgres!.stopServer('fast');
    const downAt = performance.now();

    expect((await new HubBrowser(hub!.url).get(HUB_HOST, '/healthz', { accept: 'application/json' })).status).toBe(200);
    const ready = await new HubBrowser(hub!.url).get(HUB_HOST, '/readyz', { accept: 'application/json' });
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'unavailable', code: 'ERR_STORE_UNAVAILABLE' });
    const account = await leaving.browser.get(HUB_HOST, '/account');
    expect({ status: account.status, code: errorCode(account), cookie: setsSessionCookie(account) }).toEqual({ status: 503, code: 'ERR_STORE_UNAVAILABLE', cookie: false });
    const signOut = await leaving.browser.post(HUB_HOST, '/logout', { _csrf: csrf }, { origin: HUB, 'sec-fetch-site': 'same-origin' });
    expect({ status: signOut.status, code: errorCode(signOut) }).toEqual({ status: 503, code: 'ERR_STORE_UNAVAILABLE' });
    const heldBeacon = await held.journey.browser.get(SHOP_HOST, held.beacon, { referer: `${HUB}/` });
    expect({ status: heldBeacon.status, cookie: setsSessionCookie(heldBeacon) }).toEqual({ status: 200, cookie: true });
    const heldAccept = await held.journey.browser.post(BLOG_HOST, '/shared-session/accept', held.blogForm);
    expect({ status: heldAccept.status, cookie: setsSessionCookie(heldAccept) }).toEqual({ status: 303, cookie: true });
    held.journey.beaconAccepted = true;
    held.journey.bounceAccepted = true;
    const during = await signInJourney(hub!.url);
    const refused = during.steps.find((s) => s.name === 'POST /login')!;
    expect({ status: refused.reply?.status, code: errorCode(refused.reply!), cookie: setsSessionCookie(refused.reply!) }).toEqual({ status: 503, code: 'ERR_STORE_UNAVAILABLE', cookie: false });

    await sleep(2000);
    const upAt = performance.now();
    await postgres!.startServer();

    const recoveryMs = await waitForStatus(hub!.url, '/readyz', 200, 15_000);
    const countAtRecovery = load.journeys.length;
    await waitUntil('2 journeys after recovery', () => load!.journeys.slice(countAtRecovery).filter((j) => j.bounceAccepted).length >= 2, 15_000);
    await load.stop();

    // Every answer: never a 500; an error is ERR_STORE_UNAVAILABLE and sets no session cookie.
    const steps = [...allSteps(load.journeys), ...during.steps];
    for (const s of steps) {
      expect({ step: s.name, error: s.error }).toEqual({ step: s.name, error: null });
      if (s.reply!.status >= 400) {
        expect({ step: s.name, status: s.reply!.status, code: errorCode(s.reply!), cookie: setsSessionCookie(s.reply!) }).toEqual({ step: s.name, status: 503, code: 'ERR_STORE_UNAVAILABLE', cookie: false });
      }
    }
    const refusedInOutage = steps.filter((s) => s.startedAt > downAt && s.endedAt < upAt && needsDatabase.has(s.name));
    expect(refusedInOutage.length).toBeGreaterThanOrEqual(3);
    for (const s of refusedInOutage) expect({ step: s.name, status: s.reply!.status }).toEqual({ step: s.name, status: 503 });
    const slowest = Math.max(...refusedInOutage.map((s) => s.reply!.ms));
    expect(slowest).toBeLessThan(3000);

    // Nothing accepted was lost, and the sign-out that failed ended nothing.
    const accepted: Journey[] = [...load.journeys.filter((j) => j.signedIn), leaving, held.journey];
    for (const journey of accepted) {
      const sid = hubSid(journey);
      expect(await stillAccepted(journey, hub!.url)).toEqual({ account: 200, shop: journey.beaconAccepted ? sid : null, blog: journey.bounceAccepted ? sid : null });
    }
    console.info(
      `postgres restart: ${refusedInOutage.length} requests refused during the outage (slowest ${Math.round(slowest)} ms), ready ${Math.round(recoveryMs)} ms after PostgreSQL started, ${accepted.length} sessions verified`,
    );
  });
});
