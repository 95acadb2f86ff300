import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FrozenClock } from '../../src/core/clock';
import { createMailer, type MailerOptions, type MailLogger } from '../../src/mail/mailer';
import { magicLinkMessage } from '../../src/mail/templates';
import { readMessage, startSmtpServer, type SmtpTestServer } from '../support/smtp';
import { codeOf } from '../support/errors';

interface LogEntry {
  level: 'info' | 'warn';
  obj: Record<string, unknown>;
  msg: string;
}

function recordingLogger(): MailLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (obj, msg) => entries.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    warn: (obj, msg) => entries.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
  };
}


// Long enough that quoted-printable would wrap it, with an '&' the HTML part must escape.
const token = 'q7Zk3mV9xR2pL8wN4tY6bC1dF5gH0jKsAeUiOoPz_-Qr';
const link = `https://login.example.com/login/magic?token=${token}&return_to=https%3A%2F%2Fwww.example.org%2Fbasket%3Fitem%3D42`;
const invalidRecipients: Array<[string, string]> = [
  ['a header injection', 'a@b.com\r\nBcc: x@y.com'],
  ['a quoted local part', '"q"@x.com'],
  ['a domain without a dot', 'a@b'],
  ['a 255-character address', `${'l'.repeat(64)}@${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(62)}`],
  ['group syntax', 'g: a@b.com;'],
  ['a display name', 'Eve <eve@example.com>'],
  ['two recipients', 'a@b.com,c@d.com'],
];

describe('createMailer, smtp transport', () => {
  let smtp: SmtpTestServer;
  let logger: ReturnType<typeof recordingLogger>;

  beforeEach(async () => {
    smtp = await startSmtpServer();
    logger = recordingLogger();
  });

  afterEach(async () => {
    await smtp.close();
  });

  function smtpMailer() {
    return createMailer({ transport: 'smtp', from: 'login@example.com', smtp: { host: '127.0.0.1', port: smtp.port, secure: false } }, logger);
  }

  it('sends a magic link with an explicit envelope and the link intact', async () => {
    await smtpMailer().send(magicLinkMessage({ to: 'ada@example.com', link, expiresMinutes: 10 }));

    expect(smtp.messages).toHaveLength(1);
    const [received] = smtp.messages;
    expect(received?.from).toBe('login@example.com');
    expect(received?.to).toEqual(['ada@example.com']);
    const mail = readMessage(received?.raw ?? '');
    expect(mail.headers.to).toBe('ada@example.com');
    expect(mail.headers.from).toBe('login@example.com');
    expect(mail.headers.subject).toBe('Your sign-in link for Tessera');
    expect(mail.headers.bcc).toBeUndefined();
    expect(mail.text).toContain(`\n${link}\n`);
    expect(mail.html).toContain(`href="${link.replace('&', '&amp;')}"`);
  });

  it('logs only the recipient domain and the Message-ID, never the link', async () => {
    await smtpMailer().send(magicLinkMessage({ to: 'ada@example.com', link, expiresMinutes: 10 }));

    const messageId = readMessage(smtp.messages[0]?.raw ?? '').headers['message-id'];
    expect(messageId).toMatch(/^<.+@.+>$/);
    expect(logger.entries).toEqual([{ level: 'info', obj: { toDomain: 'example.com', messageId }, msg: 'mail sent' }]);
    expect(JSON.stringify(logger.entries)).not.toContain(token);
    expect(JSON.stringify(logger.entries)).not.toContain('ada@');
  });

  it('sends to an internationalized address with an encoded subject', async () => {
    await smtpMailer().send(magicLinkMessage({ to: 'jürgen@müller.example', link, expiresMinutes: 10, product: 'Tëssera' }));
    expect(smtp.messages[0]?.to).toEqual(['jürgen@müller.example']);
    const mail = readMessage(smtp.messages[0]?.raw ?? '');
    expect(mail.headers.subject).toBe('Your sign-in link for Tëssera');
    expect(mail.text).toContain('sign in to Tëssera:');
  });

  it('sends to the trimmed address', async () => {
    await smtpMailer().send({ to: '  ada@example.com\n', subject: 's', text: 't', html: '<p>t</p>' });
    expect(smtp.messages[0]?.to).toEqual(['ada@example.com']);
  });

  it.each(invalidRecipients)('refuses %s with ERR_EMAIL_INVALID and sends nothing', async (_name, to) => {
    const mailer = smtpMailer();
    expect(await codeOf(mailer.send(magicLinkMessage({ to, link, expiresMinutes: 10 })))).toBe('ERR_EMAIL_INVALID');
    // A valid message afterwards arrives alone: the refused one never reached the server.
    await mailer.send(magicLinkMessage({ to: 'ada@example.com', link, expiresMinutes: 10 }));
    expect(smtp.messages.map((m) => m.to)).toEqual([['ada@example.com']]);
  });

  it('fails with ERR_MAIL_SEND_FAILED when the server is unreachable, logging only the reason', async () => {
    const gone = await startSmtpServer();
    await gone.close();
    const mailer = createMailer({ transport: 'smtp', from: 'login@example.com', smtp: { host: '127.0.0.1', port: gone.port, secure: false } }, logger);
    expect(await codeOf(mailer.send(magicLinkMessage({ to: 'ada@example.com', link, expiresMinutes: 10 })))).toBe('ERR_MAIL_SEND_FAILED');
    expect(logger.entries).toEqual([{ level: 'warn', obj: { toDomain: 'example.com', reason: 'ESOCKET' }, msg: 'mail not sent' }]);
  });
});

describe('createMailer, file transport', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tessera-mail-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes each message as a private .eml file and logs its link', async () => {
    const logger = recordingLogger();
    const mailDir = path.join(dir, 'data', 'mail');
    const clock = new FrozenClock(Date.UTC(2025, 2, 1, 14, 5, 9, 123));
    const mailer = createMailer({ transport: 'file', from: 'login@example.com', dir: mailDir, clock }, logger);

    await mailer.send(magicLinkMessage({ to: 'ada@example.com', link, expiresMinutes: 10 }));
    await mailer.send(magicLinkMessage({ to: 'bob@example.org', link: 'https://login.example.com/m?token=second', expiresMinutes: 10 }));

    const files = (await readdir(mailDir)).sort();
    expect(files).toHaveLength(2);
    for (const file of files) expect(file).toMatch(/^2025-03-01T14-05-09-123Z-[0-9a-f]{12}\.eml$/);
    expect((await stat(mailDir)).mode & 0o777).toBe(0o700);

    const written = await Promise.all(files.map(async (file) => readMessage(await readFile(path.join(mailDir, file), 'utf8'))));
    const first = written.find((mail) => mail.headers.to === 'ada@example.com');
    expect(first?.headers.subject).toBe('Your sign-in link for Tessera');
    expect(first?.text).toContain(`\n${link}\n`);
    for (const file of files) expect((await stat(path.join(mailDir, file))).mode & 0o777).toBe(0o600);

    expect(logger.entries[0]).toMatchObject({ level: 'warn', obj: { dir: mailDir } });
    const infos = logger.entries.filter((entry) => entry.level === 'info');
    expect(infos.map((entry) => entry.obj.link)).toEqual([link, 'https://login.example.com/m?token=second']);
    expect(infos.map((entry) => path.basename(entry.obj.file as string)).sort()).toEqual(files);
  });

  it.each(invalidRecipients)('refuses %s with ERR_EMAIL_INVALID and writes nothing', async (_name, to) => {
    const mailDir = path.join(dir, 'mail');
    const mailer = createMailer({ transport: 'file', from: 'login@example.com', dir: mailDir }, recordingLogger());
    expect(await codeOf(mailer.send(magicLinkMessage({ to, link, expiresMinutes: 10 })))).toBe('ERR_EMAIL_INVALID');
    expect(await codeOf(readdir(mailDir))).toBe('ENOENT');
  });
});

describe('createMailer options', () => {
  const smtpOptions = { host: '127.0.0.1', port: 2525, secure: false };

  it.each<[string, MailerOptions]>([
    ['a sender with a display name', { transport: 'file', from: 'Tessera <login@example.com>' }],
    ['a sender with a line break', { transport: 'file', from: 'login@example.com\r\nBcc: x@y.com' }],
    ['smtp without settings', { transport: 'smtp', from: 'login@example.com' }],
    ['an empty host', { transport: 'smtp', from: 'login@example.com', smtp: { ...smtpOptions, host: '' } }],
    ['port 0', { transport: 'smtp', from: 'login@example.com', smtp: { ...smtpOptions, port: 0 } }],
    ['port 65536', { transport: 'smtp', from: 'login@example.com', smtp: { ...smtpOptions, port: 65536 } }],
    ['a user without a password', { transport: 'smtp', from: 'login@example.com', smtp: { ...smtpOptions, user: 'u' } }],
    ['an unknown transport', { transport: 'sendmail' as 'smtp', from: 'login@example.com' }],
  ])('rejects %s with ERR_CONFIG_INVALID', (_name, options) => {
    let code: string | undefined;
    try {
      createMailer(options, recordingLogger());
    } catch (err) {
      code = (err as { code?: string }).code;
    }
    expect(code).toBe('ERR_CONFIG_INVALID');
  });
});
