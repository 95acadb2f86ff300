/**
 * How `middleware()` sits in a Koa app: `ctx.state.tessera` on every request, one session
 * provider per app, and `requireSession()` only after it.
 */
import Koa from 'koa';
import createSession from 'koa-session';
import type { RequestListener } from 'node:http';
import { FrozenClock } from '../../src/core/clock';
import { createDestination, type Destination } from '../../src/destination';
import { Browser, RecordingLogger, listenHttps, newSid, startStandInHub, testTls, type HttpsServer, type StandInHub, type Tls } from './support';

let tls: Tls;
let hub: StandInHub;
let server: HttpsServer;
let destination: Destination;
let listener: { current: RequestListener };

beforeAll(async () => {
  tls = await testTls();
  hub = await startStandInHub(tls, new FrozenClock(Date.now()));
});

afterAll(() => hub.close());

beforeEach(async () => {
  listener = { current: () => undefined };
  server = await listenHttps(tls, listener);
  destination = createDestination({ hubUrl: hub.url, siteOrigin: server.url, ca: tls.cert, clock: hub.clock, logger: new RecordingLogger() });
});

afterEach(async () => {
  await destination.close();
  await server.close();
});

it('sets ctx.state.tessera on every request: null, then the session, on any path', async () => {
  const seen: unknown[] = [];
  const app = new Koa();
  app.use(destination.middleware());
  app.use((ctx) => {
    seen.push(ctx.state.tessera);
    ctx.status = 204;
  });
  listener.current = app.callback();
  const browser = new Browser(tls);
  await browser.get(`${server.url}/a`);
  const sid = newSid();
  await browser.get(`${server.url}/shared-session/${hub.mint({ audience: server.url, sid, sub: 'u' })}.js`);
  await browser.get(`${server.url}/deep/b?c=1`);
  expect(seen).toEqual([null, { sid, sub: 'u', claims: {}, src: hub.host }]);
});

it('refuses to run beside another koa-session on the same app', async () => {
  const app = new Koa();
  let failure: unknown;
  app.silent = true;
  app.on('error', (err: unknown) => (failure = err));
  app.use(createSession({ signed: false }, app));
  app.use(destination.middleware());
  listener.current = app.callback();
  expect((await new Browser(tls).get(`${server.url}/`)).status).toBe(500);
  expect(failure).toMatchObject({ code: 'ERR_CONFIG_INVALID', message: expect.stringContaining('koa-session') });
});

it('refuses requireSession() mounted before middleware()', async () => {
  const app = new Koa();
  let failure: unknown;
  app.silent = true;
  app.on('error', (err: unknown) => (failure = err));
  app.use(destination.requireSession());
  app.use(destination.middleware());
  listener.current = app.callback();
  expect((await new Browser(tls).get(`${server.url}/`)).status).toBe(500);
  expect(failure).toMatchObject({ code: 'ERR_CONFIG_INVALID' });
});
