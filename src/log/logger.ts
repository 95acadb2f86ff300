/**
 * Structured JSON logs (pino). Secrets never reach a log line: request logs carry method, path
 * (tokens in paths are masked), status, duration and request id only, and the redaction list
 * below catches the usual places a secret could hide if someone logs an object carelessly.
 */
import pino from 'pino';

export type Logger = pino.Logger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Field paths whose values are replaced by "[redacted]" wherever they appear in a log object. */
export const redactedPaths = [
  'password',
  'token',
  'secret',
  'cookie',
  'authorization',
  'logout_token',
  '*.password',
  '*.token',
  '*.secret',
  '*.cookie',
  '*.authorization',
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
];

/**
 * The names a redaction path starts with: censored at the top level of a line (`password`) or
 * reached into (`req` of `req.headers.cookie`). The `*.…` paths start with any name, but only
 * reach into a value that is an object.
 */
const redactedTopLevelNames: ReadonlySet<string> = new Set(redactedPaths.map((path) => path.split(/[.[]/)[0]!).filter((name) => name !== '*'));

/**
 * True when the redaction paths cannot change a line made of `fields`: every value is a string,
 * number, boolean, null or undefined (no path reaches into those), and no name is one a path
 * starts with. Such a line may skip pino's redaction, which otherwise runs every value through
 * the `*.…` paths (about 7 µs a line, bench/README.md), and still reads byte for byte the same.
 *
 * @example
 * redactionCannotApply({ event: 'handoff', sid }); // true
 * redactionCannotApply({ token }); // false: `token` is censored
 */
export function redactionCannotApply(fields: Readonly<Record<string, unknown>>): boolean {
  for (const name in fields) {
    const value = fields[name];
    if ((typeof value === 'object' && value !== null) || typeof value === 'function' || redactedTopLevelNames.has(name)) return false;
  }
  return true;
}

/** The second `isoTime` last formatted, and its text up to the milliseconds. */
let isoSecond = Number.NaN;
let isoSecondText = '';

/**
 * pino's `stdTimeFunctions.isoTime`, byte for byte, with the date formatted once a second
 * rather than once a line: `toISOString` was a measurable part of the access line that every
 * request writes (bench/README.md).
 */
export function isoTime(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    // "YYYY-MM-DDTHH:mm:ss." of "YYYY-MM-DDTHH:mm:ss.sssZ"
    isoSecondText = `,"time":"${new Date(second * 1000).toISOString().slice(0, 20)}`;
  }
  const ms = now - second * 1000;
  return `${isoSecondText}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
}

/**
 * Creates the process logger.
 *
 * @example
 * const logger = createLogger({ level: 'info' });
 * logger.info({ kid }, 'generated signing key');
 */
export function createLogger(options: { level: LogLevel; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'tessera' },
      redact: { paths: redactedPaths, censor: '[redacted]' },
      timestamp: isoTime,
    },
    options.destination,
  );
}

/** A logger that discards everything, for tests that do not inspect logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
