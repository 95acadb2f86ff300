/**
 * The Mailer port over nodemailer. Two transports:
 * - `smtp`: a real mail server. Bodies carry single-use sign-in links, which are secrets, so
 *   this transport logs only the recipient's domain and the Message-ID.
 * - `file`: the development default. Each message is written as an `.eml` file (mode 0600) and
 *   its first link is logged, which is how a developer signs in without a mail server. It says
 *   so loudly at start-up, like every development-only adapter.
 *
 * Every recipient goes through `parseEmailAddress` before nodemailer sees it, and every message
 * carries an explicit envelope, so the SMTP recipients are exactly `message.to` and never what
 * nodemailer might derive from headers (SECURITY.md "Login and e-mail").
 *
 * nodemailer is required when the first message is sent, not at start-up: it is about 1 MiB of
 * heap that a hub which sends no mail (password sign-in, an instance that only serves sites)
 * would otherwise keep for its whole life (bench/README.md "http-hub-memory").
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type * as Nodemailer from 'nodemailer';
import type { SendMailOptions, Transporter } from 'nodemailer';
import { systemClock, type Clock } from '../core/clock';
import { TesseraError } from '../core/errors';
import { parseEmailAddress } from '../core/users/email-address';
import type { MailMessage, Mailer } from '../ports';

/** SMTP server settings (config `mail.smtp.*`). */
export interface SmtpOptions {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (usually port 465). False means plain, then STARTTLS if offered. */
  secure: boolean;
  user?: string;
  password?: string;
  /** Refuse to send unless the server upgrades the connection with STARTTLS. */
  requireTls?: boolean;
}

export interface MailerOptions {
  transport: 'smtp' | 'file';
  /** Sender address, used both as the From header and the envelope sender. A bare address. */
  from: string;
  /** Required when `transport` is `smtp`. */
  smtp?: SmtpOptions;
  /** Where the `file` transport writes messages; a relative path is taken from the working directory. Default `data/mail`. */
  dir?: string;
  /** Names the `.eml` files. Default: the system clock. */
  clock?: Clock;
}

/** The part of a pino logger the mailer uses. */
export interface MailLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const defaultDir = 'data/mail';

/**
 * A login request waits for its mail, so a silent server must not hold it for nodemailer's
 * defaults (2 min to connect, 10 min idle).
 */
const smtpTimeouts = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

/** The first http(s) URL of a text: in every template, the one link that matters. */
const firstLink = /https?:\/\/[^\s<>"]+/;

/**
 * Creates the mailer from configuration. Options are checked here, so a bad sender or SMTP
 * setting stops start-up instead of the first login.
 *
 * @throws TesseraError `ERR_CONFIG_INVALID` for invalid options.
 *
 * @example
 * const mailer = createMailer({ transport: 'file', from: 'login@example.com' }, logger);
 * await mailer.send(magicLinkMessage({ to: 'ada@example.com', link, expiresMinutes: 10 }));
 */
export function createMailer(options: MailerOptions, logger: MailLogger): Mailer {
  const from = checkFrom(options.from);
  if (options.transport === 'smtp') return new SmtpMailer(from, checkSmtp(options.smtp), logger);
  // Resolved once, against the working directory as every relative path of the configuration
  // is, so the start-up warning and each message's log line name the absolute directory: the
  // operator sees whether a command's messages land beside the hub's.
  if (options.transport === 'file') return new FileMailer(from, path.resolve(options.dir ?? defaultDir), options.clock ?? systemClock, logger);
  throw configError(`"transport" must be "smtp" or "file"`);
}

class SmtpMailer implements Mailer {
  /** Created on the first message: nodemailer connects only when sending anyway. */
  private transporter: Transporter | null = null;

  constructor(
    private readonly from: string,
    private readonly smtp: SmtpOptions,
    private readonly logger: MailLogger,
  ) {}

  async send(message: MailMessage): Promise<void> {
    const to = parseEmailAddress(message.to);
    const transporter = (this.transporter ??= createSmtpTransport(this.smtp));
    const info = await sendOrFail(() => transporter.sendMail(compose(this.from, to, message)), to, this.logger);
    this.logger.info({ toDomain: domainOf(to), messageId: info.messageId }, 'mail sent');
  }
}

class FileMailer implements Mailer {
  private transporter: Transporter | null = null;

  constructor(
    private readonly from: string,
    private readonly dir: string,
    private readonly clock: Clock,
    private readonly logger: MailLogger,
  ) {
    logger.warn({ dir }, 'mail transport "file": messages are written to disk and their links to the log; for development only');
  }

  async send(message: MailMessage): Promise<void> {
    const to = parseEmailAddress(message.to);
    const file = path.join(this.dir, `${fileStamp(this.clock)}-${randomBytes(6).toString('hex')}.eml`);
    const transporter = (this.transporter ??= loadNodemailer().createTransport({ streamTransport: true, buffer: true, disableFileAccess: true, disableUrlAccess: true }));
    await sendOrFail(
      async () => {
        const info = await transporter.sendMail(compose(this.from, to, message));
        // The directory holds live sign-in links: keep it to the hub's own user.
        await mkdir(this.dir, { recursive: true, mode: 0o700 });
        // Written under a temporary name, then renamed: whoever watches the folder for `.eml`
        // files (a developer's mail viewer, a test) never reads a message half written.
        const partial = `${file}.partial`;
        await writeFile(partial, info.message as Buffer, { mode: 0o600, flag: 'wx' });
        await rename(partial, file);
      },
      to,
      this.logger,
    );
    this.logger.info({ file, to, link: firstLink.exec(message.text)?.[0] ?? null }, 'mail written to file');
  }
}

/** nodemailer itself, on the first message (see the top of this file). */
function loadNodemailer(): typeof Nodemailer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading on demand is the point
  return require('nodemailer') as typeof Nodemailer;
}

function createSmtpTransport(smtp: SmtpOptions): Transporter {
  return loadNodemailer().createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.requireTls ?? false,
    auth: smtp.user === undefined ? undefined : { user: smtp.user, pass: smtp.password },
    ...smtpTimeouts,
    // Messages are plain text and HTML only: nothing may be read from disk or fetched by URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
}

function compose(from: string, to: string, message: MailMessage): SendMailOptions {
  return {
    from,
    to,
    subject: message.subject,
    text: message.text,
    html: message.html,
    envelope: { from, to },
  };
}

async function sendOrFail<T>(send: () => Promise<T>, to: string, logger: MailLogger): Promise<T> {
  try {
    return await send();
  } catch (cause) {
    // nodemailer's code (ECONNECTION, EAUTH, EENVELOPE…) says what failed; its message may quote
    // the server's answer, which can echo the recipient, so it stays in `cause` only.
    const reason = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
    logger.warn({ toDomain: domainOf(to), reason: typeof reason === 'string' ? reason : 'unknown' }, 'mail not sent');
    throw new TesseraError('ERR_MAIL_SEND_FAILED', 'mail could not be sent', { cause });
  }
}

function checkFrom(from: string): string {
  try {
    return parseEmailAddress(from);
  } catch (cause) {
    throw configError('"from" must be a bare e-mail address such as login@example.com', cause);
  }
}

function checkSmtp(smtp: SmtpOptions | undefined): SmtpOptions {
  if (smtp === undefined) throw configError('"smtp" is required when "transport" is "smtp"');
  if (typeof smtp.host !== 'string' || smtp.host === '') throw configError('"smtp.host" must be a non-empty string');
  if (!Number.isInteger(smtp.port) || smtp.port < 1 || smtp.port > 65535) throw configError('"smtp.port" must be an integer from 1 to 65535');
  if (typeof smtp.secure !== 'boolean') throw configError('"smtp.secure" must be a boolean');
  if ((smtp.user === undefined) !== (smtp.password === undefined)) throw configError('"smtp.user" and "smtp.password" must be set together');
  return smtp;
}

function configError(message: string, cause?: unknown): TesseraError {
  return new TesseraError('ERR_CONFIG_INVALID', message, { cause });
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/** `2025-03-01T14-05-09-123Z`: sorts by time and is a valid file name everywhere. */
function fileStamp(clock: Clock): string {
  return new Date(clock.now()).toISOString().replace(/[:.]/g, '-');
}
