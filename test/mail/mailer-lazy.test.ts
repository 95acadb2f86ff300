/**
 * The mailer requires nodemailer when it sends its first message, not when it is created: a
 * hub that sends no mail never carries it (bench/README.md "http-hub-memory"). nodemailer is
 * replaced here by a module that fails when required, so an eager import fails this suite, and
 * the first send shows that sending is what loads it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMailer, type MailLogger } from '../../src/mail/mailer';
import { magicLinkMessage } from '../../src/mail/templates';

jest.mock('nodemailer', () => {
  throw new Error('nodemailer was required');
});

const logger: MailLogger = { info: () => undefined, warn: () => undefined };
const message = magicLinkMessage({ to: 'ada@example.org', link: 'https://login.example.com/login/magic?token=t', expiresMinutes: 10 });

describe('createMailer: nodemailer loaded on the first message', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tessera-mail-lazy-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('creates both transports without requiring nodemailer', () => {
    expect(() => createMailer({ transport: 'file', from: 'login@example.com', dir }, logger)).not.toThrow();
    expect(() => createMailer({ transport: 'smtp', from: 'login@example.com', smtp: { host: '127.0.0.1', port: 2525, secure: false } }, logger)).not.toThrow();
  });

  it.each(['file', 'smtp'] as const)('requires it to send with the %s transport', async (transport) => {
    const mailer = createMailer({ transport, from: 'login@example.com', dir, smtp: { host: '127.0.0.1', port: 2525, secure: false } }, logger);
    await expect(mailer.send(message)).rejects.toThrow('nodemailer was required');
  });
});
