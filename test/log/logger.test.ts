/**
 * The process logger's two shortcuts must change nothing a reader of the log sees: the cached
 * timestamp writes what pino's own `isoTime` writes, and a line that skips redaction
 * (`redactionCannotApply`) is one the redaction paths would have left as it is, while any line
 * they would change is still recognised as such.
 */
import pino from 'pino';
import { createLogger, isoTime, redactedPaths, redactionCannotApply } from '../../src/log/logger';

function capture(): { lines: string[]; stream: { write: (line: string) => void } } {
  const lines: string[] = [];
  return { lines, stream: { write: (line: string) => void lines.push(line) } };
}

describe('isoTime', () => {
  afterEach(() => jest.restoreAllMocks());

  it('writes what pino.stdTimeFunctions.isoTime writes, across milliseconds, seconds and days', () => {
    const base = Date.UTC(2026, 10, 22, 23, 59, 58);
    const instants = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1999, 2000, 2005, 2050, 1500, 86_400_000 + 7].map((ms) => base + ms);
    const now = jest.spyOn(Date, 'now');
    for (const at of instants) {
      now.mockReturnValue(at);
      expect([at, isoTime()]).toEqual([at, pino.stdTimeFunctions.isoTime()]);
    }
  });
});

describe('redactionCannotApply', () => {
  it('holds for primitive values under names no redaction path starts with', () => {
    expect(redactionCannotApply({ event: 'handoff', result: 'accepted', sid: 'x', status: 200, ms: 1.5, ok: true, none: null, gone: undefined })).toBe(true);
  });

  it('fails for every name a redaction path starts with, and for any object value', () => {
    const firstNames = [...new Set(redactedPaths.map((path) => path.split(/[.[]/)[0]!).filter((name) => name !== '*'))];
    expect(firstNames).toEqual(expect.arrayContaining(['password', 'token', 'secret', 'cookie', 'authorization', 'logout_token', 'req', 'res']));
    for (const name of firstNames) expect([name, redactionCannotApply({ event: 'x', [name]: 'value' })]).toEqual([name, false]);
    expect(redactionCannotApply({ details: { password: 'p' } })).toBe(false);
    expect(redactionCannotApply({ list: ['a'] })).toBe(false);
    expect(redactionCannotApply({ err: new Error('boom') })).toBe(false);
    expect(redactionCannotApply({ fn: () => 1 })).toBe(false);
  });

  it('marks exactly the lines the redacting logger writes byte for byte like an unredacted one', () => {
    const redacted = capture();
    const plain = capture();
    jest.spyOn(Date, 'now').mockReturnValue(Date.UTC(2026, 10, 23, 1, 2, 3, 45));
    const logger = createLogger({ level: 'info', destination: redacted.stream });
    const unredacted = createLogger({ level: 'info', destination: plain.stream }).child({}, { redact: [] });
    const cases: Record<string, unknown>[] = [
      { requestId: 'r1', event: 'handoff', result: 'accepted', via: 'beacon', outcome: 'replaced', site: 'https://shop.example.net', src: 'hub.example.com', sid: 'AAAAAAAAAAAAAAAAAAAAAA' },
      { requestId: 'r2', code: 'ERR_HANDOFF_REPLAYED', status: 400, quote: 'a "quoted" \\ value\n' },
      { token: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln' },
      { nested: { secret: 's3cr3t' } },
      { req: { headers: { cookie: 'tessera_session=abc' } } },
    ];
    for (const fields of cases) {
      logger.info(fields, 'line');
      unredacted.info(fields, 'line');
    }
    expect(cases.map((fields) => redactionCannotApply(fields))).toEqual([true, true, false, false, false]);
    cases.forEach((fields, i) => {
      if (redactionCannotApply(fields)) expect(redacted.lines[i]).toBe(plain.lines[i]);
      else expect(redacted.lines[i]).toContain('[redacted]');
    });
    jest.restoreAllMocks();
  });
});
