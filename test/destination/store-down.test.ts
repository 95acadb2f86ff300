/**
 * A receiver answer when the site's session store fails before or after the route itself runs
 * (koa-session loading the visitor's session, or saving it): still a 503 with the receiver's
 * headers (`Cache-Control: no-store`, `Referrer-Policy`, `nosniff`), no cookie, and one log line
 * with the code — through `middleware()` in a Koa app and through `handler()` alike. Koa's own
 * error answer drops every header set before, and `handler()`'s app logs nothing.
 */
import type { RequestListener } from 'node:http';
import Koa from 'koa';
import { FrozenClock } from '../../src/core/clock';
import { createDestination, type Destination } from '../../src/destination';
import type { RedisClient } from '../../src/stores/redis/client';
import { Browser, RecordingLogger, listenHttps, newSid, startStandInHub, testTls, type HttpsServer, type StandInHub, type Tls } from './support';

let tls: Tls;
let hub: StandInHub;

beforeAll(async () => {
  tls = await testTls();
  hub = await startStandInHub(tls, new FrozenClock(Date.now()));
});

afterAll(() => hub.close());

/** An ioredis stand-in whose every command fails, like a client whose server went away. */
function unreachableRedis(): RedisClient {
  const fail = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
  return new Proxy({}, { get: (_, name) => (name === 'then' ? undefined : fail) }) as unknown as RedisClient;
}

const SESSION_COOKIE = `tessera_site=${'A'.repeat(43)}`;

describe.each(['middleware', 'handler'] as const)('the session store down, through %s()', (mount) => {
  let server: HttpsServer;
  let destination: Destination;
  let logger: RecordingLogger;

  beforeEach(async () => {
    const listener: { current: RequestListener } = { current: () => undefined };
    server = await listenHttps(tls, listener);
    logger = new RecordingLogger();
    destination = createDestination({ hubUrl: hub.url, siteOrigin: server.url, ca: tls.cert, clock: hub.clock, logger, store: { redis: unreachableRedis() } });
    if (mount === 'middleware') {
      const app = new Koa();
      app.silent = true;
      app.use(destination.middleware());
      listener.current = app.callback();
    } else {
      listener.current = async (req, res) => {
        if (!(await destination.handler(req, res))) res.writeHead(404).end();
      };
    }
  });

  afterEach(async () => {
    await destination.close();
    await server.close();
  });

  it.each([
    ['loader.js', '/shared-session/loader.js'],
    ['a beacon', () => `/shared-session/${hub.mint({ audience: server.url, sid: newSid(), sub: 'u' })}.js`],
  ])('%s with a session cookie: 503 with the receiver headers, no cookie, a log line', async (_, path) => {
    const res = await new Browser(tls).get(`${server.url}${typeof path === 'string' ? path : path()}`, { cookie: SESSION_COOKIE });
    expect(res.status).toBe(503);
    expect(res.headers).toMatchObject({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' });
    expect(res.setCookies).toEqual([]);
    expect(logger.codes()).toEqual(['ERR_STORE_UNAVAILABLE']);
  });
});
