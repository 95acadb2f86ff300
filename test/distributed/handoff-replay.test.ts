/**
 * Issue 7, "Correctness across instances": one handoff token sent 100 times at once, half to
 * each hub instance, is accepted exactly once. The hub is the receiver of a site whose reverse
 * proxy routes `/shared-session/` to it (`Host` kept); the jti check and the site link are one
 * atomic script in the shared Redis, so the instances cannot both win.
 */
import { randomBytes } from 'node:crypto';
import { describeDistributed, eventually, getWithHost, logLines, newClient, signIn, startHubPair, type HubPair } from './support';

const blog = 'https://blog.example.org';
const parallel = 100;

describeDistributed('a handoff token replayed across two hub instances', () => {
  let pair: HubPair;

  beforeAll(async () => {
    pair = await startHubPair({ TESSERA_SITES: JSON.stringify([{ origin: blog, cookie: { name: 'blog_session' }, claims: ['email'] }]) });
    await pair.addUser('ada@example.com');
  }, 60_000);
  afterAll(() => pair?.stop());

  it('is accepted exactly once out of 100 parallel beacons, 50 to each instance', async () => {
    const [one, two] = pair.hubs;
    const client = newClient();
    await signIn(client, 'ada@example.com', one.url);

    // The bounce: instance 1 mints a token for the blog and hands it back in a form_post page.
    const state = randomBytes(16).toString('base64url');
    const bounce = await client.get(`${one.url}/handoff?${new URLSearchParams({ dst: blog, return_to: `${blog}/`, state }).toString()}`);
    expect(bounce.status).toBe(200);
    const token = /name="token" value="([^"]+)"/.exec(bounce.body)?.[1];
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

    const answers = await Promise.all(
      Array.from({ length: parallel }, (_, i) => getWithHost(`${(i % 2 === 0 ? one : two).url}/shared-session/${token}.js`, 'blog.example.org')),
    );
    const accepted = answers.filter((answer) => answer.status === 200);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.headers['set-cookie']?.some((line) => line.startsWith('blog_session='))).toBe(true);
    const rejected = answers.filter((answer) => answer.status !== 200);
    expect(rejected).toHaveLength(parallel - 1);
    expect(new Set(rejected.map((answer) => answer.status))).toEqual(new Set([400]));
    expect(rejected.filter((answer) => answer.headers['set-cookie'] !== undefined)).toEqual([]);

    // Every rejection is logged as a replay, by the instance that refused it; both refused some.
    const replays = (hub: typeof one) => logLines(hub, { msg: 'handoff rejected', code: 'ERR_HANDOFF_REPLAYED' }).length;
    await eventually(() => (replays(one) + replays(two) === parallel - 1 ? true : undefined), 5000, 'the rejections in the logs');
    expect(replays(one)).toBeGreaterThan(0);
    expect(replays(two)).toBeGreaterThan(0);
    const acceptances = [...logLines(one, { msg: 'handoff accepted' }), ...logLines(two, { msg: 'handoff accepted' })];
    expect(acceptances).toHaveLength(1);
    // No other reason: a token both instances could verify, refused only for being spent.
    const otherRejections = [...one.logs, ...two.logs].filter((line) => line.msg === 'handoff rejected' && line.code !== 'ERR_HANDOFF_REPLAYED');
    expect(otherRejections).toEqual([]);
  }, 60_000);
});
