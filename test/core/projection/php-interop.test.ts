/**
 * Round trips through a real PHP interpreter. One `php` process takes a batch of lines and, for
 * each, either reads TS's encoding with PHP's own decoder (`unserialize`, `session_decode` under
 * the `php_serialize` and `php` handlers, on a `files` session in a temp dir) and writes it back
 * with PHP's encoder, or builds the value from JSON and encodes it with PHP. Byte equality with
 * TS's encoding is the assertion both ways.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  decodePhpSerializeSession,
  decodePhpSession,
  encodePhpSerializeSession,
  encodePhpSession,
  isPhpIntegerKey,
  serializePhp,
  unserializePhp,
  type PhpValue,
} from '../../../src/core/projection/php';
import { describeWithPhp, phpBinary, requirePhp } from '../../support/php';

type Mode = 'value' | 'php_serialize' | 'php';
type Direction = 'ts2php' | 'php2ts';
interface Line {
  mode: Mode;
  direction: Direction;
  /** ts2php: TS's encoding; php2ts: the value as JSON. */
  payload: string;
}

/**
 * Reads `MODE DIRECTION BASE64` lines; answers one `OK BASE64` (PHP's encoding) or `ERR why` per
 * line. fwrite(STDOUT) rather than echo: output would count as sent headers and stop the session
 * from restarting under the next handler.
 */
const phpScript = String.raw`
$handler = null;
session_id('tesserainterop');
while (($line = fgets(STDIN)) !== false) {
  [$mode, $direction, $payload] = explode(' ', rtrim($line, "\n"));
  $text = base64_decode($payload, true);
  try {
    if ($mode !== 'value' && $mode !== $handler) {
      if (session_status() === PHP_SESSION_ACTIVE) session_abort();
      ini_set('session.serialize_handler', $mode);
      if (!session_start()) throw new Exception('session_start failed');
      $handler = $mode;
    }
    if ($direction === 'php2ts') {
      $value = json_decode($text, true, 4096, JSON_THROW_ON_ERROR);
      if ($mode === 'value') { $out = serialize($value); }
      else { $_SESSION = $value; $out = session_encode(); }
    } else if ($mode === 'value') {
      $value = unserialize($text, ['allowed_classes' => false]);
      if ($value === false && $text !== 'b:0;') throw new Exception('unserialize failed');
      $out = serialize($value);
    } else {
      $_SESSION = [];
      if (!session_decode($text)) throw new Exception('session_decode failed');
      $out = session_encode();
    }
    // session_encode() answers false for an empty session under the php handler; PHP stores ''.
    fwrite(STDOUT, 'OK ' . base64_encode($out === false ? '' : $out) . "\n");
  } catch (Throwable $e) {
    fwrite(STDOUT, 'ERR ' . str_replace("\n", ' ', $e->getMessage()) . "\n");
  }
}
`;

function runPhp(lines: readonly Line[], sessionDir: string): string[] {
  const input = lines.map((l) => `${l.mode} ${l.direction} ${Buffer.from(l.payload, 'utf8').toString('base64')}\n`).join('');
  const result = spawnSync(
    phpBinary,
    [
      '-d', 'serialize_precision=-1',
      '-d', 'session.save_handler=files',
      '-d', `session.save_path=${sessionDir}`,
      '-d', 'session.use_cookies=0',
      '-d', 'session.use_strict_mode=0',
      '-d', 'session.cache_limiter=',
      '-d', 'display_errors=stderr',
      '-d', 'error_reporting=-1',
      '-r', phpScript,
    ],
    { input, encoding: 'utf8', timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.error) throw result.error;
  if (result.status !== 0 || result.stderr !== '') throw new Error(`php exited ${result.status}: ${result.stderr}`);
  const answers = result.stdout.split('\n').filter((l) => l !== '');
  expect(answers).toHaveLength(lines.length);
  return answers;
}

/** What PHP's answer `OK base64` decodes to, or the PHP error. */
function phpText(answer: string): string {
  if (!answer.startsWith('OK ')) throw new Error(`PHP refused: ${answer}`);
  return Buffer.from(answer.slice(3), 'base64').toString('utf8');
}

// ----- arbitraries -------------------------------------------------------------------------

const floatSpecials = [0.1, 1.5, 1 / 3, 1e-4, 1e-5, 9.999e-5, 1e16, 1e17, 2 ** 53, 2 ** 63, 1e21, 1e25, 5e-324, Number.MAX_VALUE, -1.5e-10];
/** Decimal-looking floats around zend_gcvt's layout switches (exponents -4 and 17). */
const decimalFloat = fc.tuple(fc.integer({ min: -99_999, max: 99_999 }), fc.integer({ min: -25, max: 25 })).map(([m, e]) => m * 10 ** e);
const anyFloat = fc.oneof(fc.double(), decimalFloat, fc.constantFrom(...floatSpecials, -0, NaN, Infinity, -Infinity));
/** Floats PHP builds from JSON and we read back exactly: no -0/NaN/INF (JSON cannot carry them),
 *  no integer in (2^53, 2^63] (json_decode makes a PHP int we refuse as unsafe). */
const jsonFloat = fc
  .oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), decimalFloat, fc.constantFrom(...floatSpecials))
  .filter((x) => !Object.is(x, -0) && !(Number.isInteger(x) && !Number.isSafeInteger(x) && Math.abs(x) <= 2 ** 63));

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ maxLength: 8 }),
  fc.constantFrom('', 'é', '😀', 'a"b;}', 'x|y', 'a:1:{', '\0', '\\'),
);
const key = fc.oneof(
  text,
  fc.integer({ min: -1000, max: 1000 }).map(String),
  // Integer-like keys of every length up to 20 digits, in and out of PHP_INT range.
  fc.tuple(fc.boolean(), fc.bigInt({ min: 1n, max: 2n ** 64n }), fc.integer({ min: 1, max: 20 })).map(([negative, n, digits]) => `${negative ? '-' : ''}${String(n).slice(0, digits)}`),
  fc.constantFrom('05', '-0', '+5', '9223372036854775807', '9223372036854775808', '-9223372036854775808', '4294967295', '__proto__', 'constructor'),
);

function objectFrom(entries: ReadonlyArray<readonly [string, PhpValue]>): Record<string, PhpValue> {
  const object: Record<string, PhpValue> = {};
  for (const [k, v] of entries) Object.defineProperty(object, k, { value: v, enumerable: true, writable: true, configurable: true });
  return object;
}

function valueArbitrary(float: fc.Arbitrary<number>): fc.Arbitrary<PhpValue> {
  const { value } = fc.letrec<{ value: PhpValue; leaf: PhpValue; list: PhpValue[]; map: Record<string, PhpValue> }>((tie) => ({
    leaf: fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.maxSafeInteger(), float, text),
    list: fc.array(tie('value'), { maxLength: 4 }),
    map: fc.uniqueArray(fc.tuple(key, tie('value')), { selector: (e) => e[0], maxLength: 4 }).map(objectFrom),
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('leaf'), tie('list'), tie('map')),
  }));
  return value;
}

/** `php` handler names: PHP cannot store `|`, skips integer names; `!` we refuse. */
const sessionName = key.filter((k) => !k.includes('|') && !k.includes('!') && !isPhpIntegerKey(k));
function sessionArbitrary(mode: 'php_serialize' | 'php', float: fc.Arbitrary<number>): fc.Arbitrary<Record<string, PhpValue>> {
  return fc.uniqueArray(fc.tuple(mode === 'php' ? sessionName : key, valueArbitrary(float)), { selector: (e) => e[0], maxLength: 6 }).map(objectFrom);
}

/** What reading back gives: PHP cannot tell `{}` or `{"0":…,"1":…}` from a list. */
function asPhpSees(value: PhpValue): PhpValue {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(asPhpSees);
  const keys = Object.keys(value);
  if (keys.every((k, i) => k === String(i))) return keys.map((k) => asPhpSees(value[k] as PhpValue));
  return objectFrom(keys.map((k) => [k, asPhpSees(value[k] as PhpValue)] as const));
}
function sessionAsPhpSees(data: Record<string, PhpValue>): Record<string, PhpValue> {
  return objectFrom(Object.keys(data).map((k) => [k, asPhpSees(data[k] as PhpValue)] as const));
}

const codecs = {
  value: { encode: serializePhp, decode: unserializePhp, sees: asPhpSees },
  php_serialize: { encode: encodePhpSerializeSession, decode: decodePhpSerializeSession, sees: sessionAsPhpSees },
  php: { encode: encodePhpSession, decode: decodePhpSession, sees: sessionAsPhpSees },
} as Record<Mode, { encode(v: PhpValue): string; decode(t: string): PhpValue; sees(v: PhpValue): PhpValue }>;

// ----- the suite ---------------------------------------------------------------------------

const describeWithInterpreter = describeWithPhp('PHP interop suite');

describeWithInterpreter('PHP serialize and session handlers against real PHP', () => {
  const runs = 250;
  const seed = Number(process.env.TESSERA_TEST_SEED ?? Date.now() % 2 ** 31);
  let sessionDir: string;

  beforeAll(() => {
    requirePhp();
    sessionDir = mkdtempSync(join(tmpdir(), 'tessera-php-sessions-'));
  });
  afterAll(() => rmSync(sessionDir, { recursive: true, force: true }));

  it(`round-trips ${runs} random values and sessions per format both ways, byte for byte (seed ${seed}; rerun with TESSERA_TEST_SEED)`, () => {
    const samples: Array<{ mode: Mode; direction: Direction; value: PhpValue }> = [];
    const take = (mode: Mode, direction: Direction, arbitrary: fc.Arbitrary<PhpValue>, offset: number): void => {
      for (const value of fc.sample(arbitrary, { numRuns: runs, seed: seed + offset })) samples.push({ mode, direction, value });
    };
    take('value', 'ts2php', valueArbitrary(anyFloat), 0);
    take('php_serialize', 'ts2php', sessionArbitrary('php_serialize', anyFloat), 1);
    take('php', 'ts2php', sessionArbitrary('php', anyFloat), 2);
    take('value', 'php2ts', valueArbitrary(jsonFloat), 3);
    take('php_serialize', 'php2ts', sessionArbitrary('php_serialize', jsonFloat), 4);
    take('php', 'php2ts', sessionArbitrary('php', jsonFloat), 5);

    const lines = samples.map(({ mode, direction, value }): Line => ({
      mode,
      direction,
      payload: direction === 'ts2php' ? codecs[mode].encode(value) : JSON.stringify(value),
    }));
    const answers = runPhp(lines, sessionDir);

    samples.forEach(({ mode, direction, value }, i) => {
      const context = `${mode} ${direction} #${i} (seed ${seed}): ${JSON.stringify(value)}`;
      const codec = codecs[mode];
      const ours = codec.encode(value);
      const theirs = phpText(answers[i] as string);
      // PHP's own writing equals ours, byte for byte…
      expect({ context, text: ours }).toEqual({ context, text: theirs });
      // …and reading it back gives the value as PHP sees it (NaN and -0 included: toEqual uses Object.is).
      expect({ context, value: codec.decode(theirs) }).toEqual({ context, value: codec.sees(value) });
    });
    expect(samples.length).toBe(6 * runs);
  });
});
