/**
 * Deleting a user (src/hub/revocation/delete-user.ts): every session ends everywhere first (an
 * outbox delivery for the SDK site that held one), then the record and pending magic links go,
 * then the deletion is audited; a store failure midway leaves the user disabled, and a second
 * run finishes the job.
 */
import { createHash } from 'node:crypto';
import { nowSeconds } from '../../src/core/clock';
import { TesseraError } from '../../src/core/errors';
import { createSessionRecord } from '../../src/core/sessions/session';
import { deleteUser } from '../../src/hub/revocation/delete-user';
import { SHOP, WWW, HUB_HOST, credentials, signedInSession, startHandoffHub, type HandoffHub } from './handoff-support';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('deleting a user', () => {
  let hub: HandoffHub;
  beforeEach(async () => {
    hub = await startHandoffHub({
      TESSERA_SITES: JSON.stringify([
        { origin: SHOP, claims: ['email'], credentialHash: sha256(credentials.shop) },
        { origin: WWW, claims: ['email'], credentialHash: sha256(credentials.www), backchannelLogoutUri: `${WWW}/shared-session/backchannel-logout` },
      ]),
    });
  });
  afterEach(() => hub.close());

  it('ends every session everywhere, removes the user and their links, and audits it', async () => {
    const first = await signedInSession(hub);
    const second = await signedInSession(hub);
    const bystander = await signedInSession(hub);
    // The user's second session, on another device, held by an SDK site with a back-channel.
    const device = createSessionRecord({ userId: first.user.id, ip: null, userAgent: null, now: nowSeconds(hub.clock) }, hub.deps.config.sessions);
    await hub.deps.sessions.create(device.record);
    await hub.deps.sessions.linkSite(device.record.sid, { site: WWW, linkedAt: nowSeconds(hub.clock), src: HUB_HOST, secretHash: null, projectionKey: null });
    await hub.deps.users.createMagicLink({ tokenHash: 'c'.repeat(64), userId: first.user.id, email: first.user.email, expiresAt: nowSeconds(hub.clock) + 600, returnTo: null });

    expect(await deleteUser(hub.deps, first.user, 'admin:someone')).toEqual({ endedSessions: 2, removed: expect.objectContaining({ id: first.user.id, email: first.user.email, disabled: true }) });

    expect(await hub.deps.users.findById(first.user.id)).toBeNull();
    expect(await hub.deps.sessions.listByUser(first.user.id)).toEqual([]);
    expect(await hub.deps.sessions.get(first.record.sid)).toBeNull();
    expect(await hub.deps.users.consumeMagicLink('c'.repeat(64), nowSeconds(hub.clock))).toBeNull();
    const deliveries = (await hub.deps.outbox.list({}, { limit: 10 })).items;
    expect(deliveries.map((d) => [d.site, d.sid, d.reason])).toEqual([[WWW, device.record.sid, 'user-deleted']]);
    const [deleted] = (await hub.deps.audit.query({ type: 'user.deleted' }, { limit: 10 })).items;
    expect(deleted).toMatchObject({ actor: 'admin:someone', userId: first.user.id, details: { endedSessions: 2 } });
    const revoked = (await hub.deps.audit.query({ type: 'session.revoked' }, { limit: 10 })).items;
    expect(revoked.map((e) => e.reason)).toEqual(['user-deleted', 'user-deleted']);

    // Other people are untouched.
    expect(await hub.deps.users.findById(second.user.id)).not.toBeNull();
    expect(await hub.deps.sessions.get(bystander.record.sid)).not.toBeNull();
  });

  it('leaves the user disabled and signed out when the record cannot be removed, and finishes on a second run', async () => {
    const signed = await signedInSession(hub);
    const remove = hub.deps.users.delete.bind(hub.deps.users);
    hub.deps.users.delete = () => Promise.reject(new TesseraError('ERR_STORE_UNAVAILABLE', 'database down'));
    await expect(deleteUser(hub.deps, signed.user, 'cli')).rejects.toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    const stuck = (await hub.deps.users.findById(signed.user.id))!;
    expect(stuck.disabled).toBe(true);
    expect(await hub.deps.sessions.get(signed.record.sid)).toBeNull();
    expect((await hub.deps.audit.query({ type: 'user.deleted' }, { limit: 10 })).items).toEqual([]);

    hub.deps.users.delete = remove;
    expect(await deleteUser(hub.deps, stuck, 'cli')).toEqual({ endedSessions: 0, removed: expect.objectContaining({ id: signed.user.id }) });
    expect(await hub.deps.users.findById(signed.user.id)).toBeNull();
  });

  it('returns the account as it removed it, with the address it has now, or null when another deletion removed it first', async () => {
    const signed = await signedInSession(hub);
    await hub.deps.users.setEmail(signed.user.id, 'renamed@example.com');
    // `signed.user` still names the old address: the owner is told at the one the account had.
    const { removed } = await deleteUser(hub.deps, signed.user, 'cli');
    expect(removed).toMatchObject({ id: signed.user.id, email: 'renamed@example.com' });

    const other = await signedInSession(hub);
    const remove = hub.deps.users.delete.bind(hub.deps.users);
    hub.deps.users.delete = async (id) => {
      await remove(id);
      return false;
    };
    expect(await deleteUser(hub.deps, other.user, 'cli')).toEqual({ endedSessions: 1, removed: null });
  });
});
