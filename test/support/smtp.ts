/**
 * A real SMTP server for tests (smtp-server on 127.0.0.1, a free port, no TLS, no auth), and a
 * minimal MIME reader for what it receives. Tests send through the real nodemailer SMTP
 * transport and assert on the envelope and the message as it crossed the wire.
 *
 * @example
 * const smtp = await startSmtpServer();
 * await mailer.send(message);            // createMailer({ transport: 'smtp', smtp: { host: '127.0.0.1', port: smtp.port, secure: false }, … })
 * const mail = readMessage(smtp.messages[0].raw);
 * expect(mail.text).toContain(link);
 * await smtp.close();
 */
import { SMTPServer } from 'smtp-server';

/** One message as the server received it. */
export interface ReceivedMail {
  /** Envelope sender (MAIL FROM), '' for the null sender. */
  from: string;
  /** Envelope recipients (RCPT TO), in order. */
  to: string[];
  /** The message exactly as sent (headers and body, CRLF line ends). */
  raw: string;
}

export interface SmtpTestServer {
  port: number;
  /** Every message accepted so far, oldest first. */
  messages: ReceivedMail[];
  close(): Promise<void>;
}

/** Starts an SMTP server on 127.0.0.1 and a free port that accepts and records every message. */
export async function startSmtpServer(): Promise<SmtpTestServer> {
  const messages: ReceivedMail[] = [];
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', () => {
        const { mailFrom, rcptTo } = session.envelope;
        messages.push({
          from: mailFrom === false ? '' : mailFrom.address,
          to: rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('SMTP test server has no TCP port');
  return {
    port: address.port,
    messages,
    close: () => new Promise<void>((resolve) => server.close(resolve)),
  };
}

/** A received message, reduced to what tests look at. */
export interface ReadMessage {
  /** Top-level headers by lower-case name (first occurrence), unfolded, encoded-words decoded. */
  headers: Record<string, string>;
  /** The first text/plain part, transfer-decoded; null when there is none. */
  text: string | null;
  /** The first text/html part, transfer-decoded; null when there is none. */
  html: string | null;
}

/**
 * Reads headers and the text and HTML parts of a raw message: just enough MIME for the messages
 * nodemailer builds (multipart, quoted-printable or base64, UTF-8). Line ends become `\n`.
 */
export function readMessage(raw: string): ReadMessage {
  const top = splitPart(raw.replace(/\r\n/g, '\n'));
  const found: { text: string | null; html: string | null } = { text: null, html: null };
  collectBodies(top, found);
  return { headers: Object.fromEntries(top.headers), ...found };
}

interface MimePart {
  headers: Map<string, string>;
  body: string;
}

function splitPart(part: string): MimePart {
  const end = part.indexOf('\n\n');
  const head = end === -1 ? part : part.slice(0, end);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n(?=[ \t])/g, '').split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, decodeWords(line.slice(colon + 1).trim()));
  }
  return { headers, body: end === -1 ? '' : part.slice(end + 2) };
}

function collectBodies(part: MimePart, found: { text: string | null; html: string | null }): void {
  const type = (part.headers.get('content-type') ?? 'text/plain').toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = /boundary="?([^";]+)"?/i.exec(part.headers.get('content-type') ?? '')?.[1];
    if (boundary === undefined) return;
    const sections = part.body.split(`--${boundary}`).slice(1, -1);
    for (const section of sections) collectBodies(splitPart(section.replace(/^\n/, '').replace(/\n$/, '')), found);
    return;
  }
  const body = decodeTransfer(part.body, part.headers.get('content-transfer-encoding') ?? '7bit');
  if (type.startsWith('text/plain') && found.text === null) found.text = body;
  if (type.startsWith('text/html') && found.html === null) found.html = body;
}

function decodeTransfer(body: string, encoding: string): string {
  switch (encoding.toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    default:
      return body;
  }
}

/** RFC 2045 §6.7: soft line breaks (`=` at line end) vanish, `=XX` is one octet. */
function decodeQuotedPrintable(body: string): string {
  const octets = body.replace(/=\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(octets, 'latin1').toString('utf8');
}

/** RFC 2047 encoded-words (`=?UTF-8?Q?…?=`, `=?UTF-8?B?…?=`); white space between two is dropped. */
function decodeWords(value: string): string {
  return value
    .replace(/(\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, _charset: string, kind: string, data: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64').toString('utf8')
        : decodeQuotedPrintable(data.replace(/_/g, ' ')),
    );
}
