/**
 * Issue 7, "Correctness across instances": both hub instances run an outbox worker on the one
 * PostgreSQL outbox, and every back-channel logout reaches its site exactly once. Revocations
 * come from both instances (each kicks its own worker) and from the CLI (which has no worker:
 * whichever instance polls first delivers). Sites are SDK-style: they tell the hub they hold a
 * session through the site API, and receive logout tokens at a server this test runs.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { newSiteCredential } from '../../src/cli/commands/sites';
import { parseCookieValue } from '../../src/core/sessions/session';
import { formField } from '../hub/handoff-support';
import { csrfFrom } from '../support/client';
import { describeDistributed, eventually, newClient, sameOrigin, signIn, startHubPair, type HubPair } from './support';

const siteNames = ['shop', 'news', 'docs'] as const;
const origins = siteNames.map((name) => `https://${name}.example.net`);
const credentials = siteNames.map(() => newSiteCredential());

interface ReceivedLogout {
  path: string;
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

function decodePart(part: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The sites' back-channel endpoints: records every logout token, answers 200. */
async function startBackchannel(): Promise<{ url: string; received: ReceivedLogout[]; close(): Promise<void> }> {
  const received: ReceivedLogout[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('logout_token') ?? '';
      const [header, payload] = token.split('.');
      received.push({ path: req.url ?? '', header: decodePart(header), claims: decodePart(payload) });
      res.writeHead(200).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `tessera_outbox_deliveries_total{result="delivered"}` of one instance. */
async function deliveredBy(hubUrl: string, adminToken: string): Promise<number> {
  const res = await fetch(`${hubUrl}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
  expect(res.status).toBe(200);
  const match = /^tessera_outbox_deliveries_total\{result="delivered"\} (\d+)$/m.exec(await res.text());
  return Number(match?.[1]);
}

describeDistributed('the logout outbox worked by two hub instances', () => {
  let pair: HubPair;
  let backchannel: Awaited<ReturnType<typeof startBackchannel>>;
  let adminToken: string;

  beforeAll(async () => {
    backchannel = await startBackchannel();
    const sites = siteNames.map((name, i) => ({ origin: origins[i], credentialHash: credentials[i]!.credentialHash, backchannelLogoutUri: `${backchannel.url}/${name}/backchannel-logout` }));
    pair = await startHubPair({ TESSERA_SITES: JSON.stringify(sites) });
    await Promise.all([pair.addUser('ada@example.com'), pair.addUser('bob@example.com')]);
    const created = await pair.cli(['admin-tokens', 'create', '--name', 'metrics', '--scope', 'metrics:read']);
    expect(created.code).toBe(0);
    adminToken = created.stdout.trim().split('\n').at(-1)!;
  }, 60_000);
  afterAll(async () => {
    await pair?.stop();
    await backchannel?.close();
  });

  it('delivers every logout token once, whichever instance revoked and whichever worker sent it', async () => {
    const [one, two] = pair.hubs;
    const hubs = [one, two];
    // Ada signs in four times, Bob twice; every session is held by all three sites.
    const people = [...Array<string>(4).fill('ada@example.com'), ...Array<string>(2).fill('bob@example.com')];
    const signedIn = [];
    for (const [i, email] of people.entries()) {
      const client = newClient();
      await signIn(client, email, hubs[i % 2]!.url);
      const sid = parseCookieValue(client.cookies.get('__Host-tessera'))!.sid;
      for (const [s, origin] of origins.entries()) {
        // The site's proof of holding the session: the handoff token a bounce gave it.
        const bounce = await client.get(`${hubs[(i + s + 1) % 2]!.url}/handoff?${new URLSearchParams({ dst: origin, return_to: `${origin}/`, state: 'distributed-outbox-state' }).toString()}`);
        const linked = await fetch(`${hubs[(i + s) % 2]!.url}/api/v1/sites/links`, {
          method: 'POST',
          headers: { authorization: `Bearer ${credentials[s]!.credential}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ sid, token: formField(bounce.body, 'token') }).toString(),
        });
        expect([origin, linked.status]).toEqual([origin, 204]);
      }
      signedIn.push({ client, email, sid });
    }

    // Ada signs out of two sessions on instance 1 and two on instance 2, all at once…
    await Promise.all(
      signedIn
        .filter((s) => s.email === 'ada@example.com')
        .map(async (s, i) => {
          const hub = hubs[i % 2]!.url;
          const page = await s.client.get(`${hub}/logout`);
          expect((await s.client.post(`${hub}/logout`, { _csrf: csrfFrom(page.body) }, sameOrigin)).status).toBe(200);
        }),
    );
    // … and an operator ends all of Bob's sessions with the CLI, which queues without sending.
    const revoked = await pair.cli(['sessions', 'revoke', '--user', 'bob@example.com']);
    expect(revoked.code).toBe(0);

    const expected = people.length * origins.length;
    await eventually(() => (backchannel.received.length >= expected ? true : undefined), 15_000, `${expected} logout tokens`);
    const outbox = await eventually(async () => {
      const { rows } = await pair.pool.query<{ status: string; attempts: number }>('SELECT status, attempts FROM logout_outbox');
      return rows.length === expected && rows.every((row) => row.status === 'delivered') ? rows : undefined;
    }, 10_000, 'every delivery recorded as delivered');
    // Two more poll intervals of both workers: nothing is sent again.
    await new Promise((resolve) => setTimeout(resolve, 1200));

    expect(backchannel.received).toHaveLength(expected);
    expect(outbox.every((row) => row.attempts === 1)).toBe(true);
    const pairs = backchannel.received.map((r) => `${String(r.claims.aud)} ${String(r.claims.sid)}`);
    expect(new Set(pairs).size).toBe(expected);
    expect(new Set(backchannel.received.map((r) => r.claims.jti)).size).toBe(expected);
    for (const { sid } of signedIn) {
      expect(backchannel.received.filter((r) => r.claims.sid === sid).map((r) => r.claims.aud).sort()).toEqual([...origins].sort());
    }
    for (const r of backchannel.received) {
      expect(r.header.typ).toBe('logout+jwt');
      expect(r.path).toBe(`/${new URL(String(r.claims.aud)).hostname.split('.')[0]}/backchannel-logout`);
    }

    // Both workers ran against the one outbox, and together they sent exactly what was queued.
    // (Which worker claims a delivery is a race, so neither's share is asserted: on a busy
    // machine one may take them all.)
    const counts = await Promise.all(hubs.map((hub) => deliveredBy(hub.url, adminToken)));
    expect(counts[0]! + counts[1]!).toBe(expected);
  }, 60_000);
});
