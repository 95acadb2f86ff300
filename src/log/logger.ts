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
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

/** A logger that discards everything, for tests that do not inspect logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
