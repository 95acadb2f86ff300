/**
 * Issue 7, "Distributed mode": a rotation made with `tessera keys rotate` on the shared `keys/`
 * directory reaches every running hub instance without a restart, by the periodic reload
 * (`TESSERA_KEYS_RELOAD`), and tokens the new key signs verify on both instances.
 */
import { randomBytes } from 'node:crypto';
import { describeDistributed, eventually, getWithHost, newClient, signIn, startHubPair, type HubPair } from './support';

const blog = 'https://blog.example.org';
const reloadSeconds = 1;

async function publishedKids(hubUrl: string): Promise<string[]> {
  const res = await fetch(`${hubUrl}/.well-known/jwks.json`);
  const { keys } = (await res.json()) as { keys: { kid: string }[] };
  return keys.map((key) => key.kid).sort();
}

function kidOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string }).kid;
}

describeDistributed('key rotation across two hub instances', () => {
  let pair: HubPair;

  beforeAll(async () => {
    pair = await startHubPair({
      TESSERA_KEYS_RELOAD: String(reloadSeconds),
      // With no JWKS caching to outwait, a rotated key signs one reload interval after it is published.
      TESSERA_JWKS_MAX_AGE: '0',
      TESSERA_SITES: JSON.stringify([{ origin: blog, cookie: { name: 'blog_session' } }]),
    });
    await pair.addUser('ada@example.com');
  }, 60_000);
  afterAll(() => pair?.stop());

  it('publishes a key rotated by the CLI on both instances within the reload interval, and both accept what it signs', async () => {
    const [one, two] = pair.hubs;
    const client = newClient();
    await signIn(client, 'ada@example.com', one.url);

    /** A token for the blog minted by `hub` (the bounce's form_post page). */
    const mintAt = async (hubUrl: string): Promise<string> => {
      const query = new URLSearchParams({ dst: blog, return_to: `${blog}/`, state: randomBytes(16).toString('base64url') });
      const page = await client.get(`${hubUrl}/handoff?${query.toString()}`);
      return /name="token" value="([^"]+)"/.exec(page.body)![1]!;
    };

    const before = await publishedKids(one.url);
    expect(before).toHaveLength(1);
    expect(await publishedKids(two.url)).toEqual(before);
    expect(kidOf(await mintAt(two.url))).toBe(before[0]);

    const rotated = await pair.cli(['keys', 'rotate']);
    expect(rotated.code).toBe(0);
    const kid = /published (\S+) as next/.exec(rotated.stdout)?.[1];
    expect(kid).toBeDefined();
    const rotatedAt = Date.now();

    // Both instances publish it — with the old key, which still verifies what it signed — no restart.
    await eventually(async () => {
      const kids = await Promise.all([publishedKids(one.url), publishedKids(two.url)]);
      return kids.every((list) => list.includes(kid!) && list.includes(before[0]!)) ? true : undefined;
    }, 10_000, 'the new key in both JWKS');
    // One reload interval, plus slack for a loaded machine's timers and the requests themselves.
    expect(Date.now() - rotatedAt).toBeLessThan(reloadSeconds * 1000 + 2000);
    expect(one.child.exitCode).toBeNull();
    expect(two.child.exitCode).toBeNull();

    // Once active, the new key signs on both instances; each token is accepted by the other one.
    const fromOne = await eventually(async () => {
      const token = await mintAt(one.url);
      return kidOf(token) === kid ? token : undefined;
    }, 10_000, 'instance 1 signing with the new key');
    const fromTwo = await eventually(async () => {
      const token = await mintAt(two.url);
      return kidOf(token) === kid ? token : undefined;
    }, 10_000, 'instance 2 signing with the new key');
    const acceptedByTwo = await getWithHost(`${two.url}/shared-session/${fromOne}.js`, 'blog.example.org');
    const acceptedByOne = await getWithHost(`${one.url}/shared-session/${fromTwo}.js`, 'blog.example.org');
    expect(acceptedByTwo.status).toBe(200);
    expect(acceptedByOne.status).toBe(200);
    expect(acceptedByTwo.headers['set-cookie']?.some((line) => line.startsWith('blog_session='))).toBe(true);
  }, 60_000);
});
