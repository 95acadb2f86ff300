/**
 * What commands read and write, injectable so tests run the real commands without a terminal.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /**
   * A secret (a password): from a terminal, prompted without echo; from a pipe, the whole of
   * standard input with one trailing newline removed.
   */
  readSecret(prompt: string): Promise<string>;
  /** Environment variables for configuration. */
  env: NodeJS.ProcessEnv;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function promptHidden(prompt: string): Promise<string> {
  const muted = new Writable({ write: (_chunk, _enc, done) => done() });
  process.stderr.write(prompt);
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  return new Promise((resolve) => {
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  readSecret: (prompt) => (process.stdin.isTTY ? promptHidden(prompt) : readAll(process.stdin)),
  env: process.env,
};
