/**
 * limitHeapGrowth, which `tessera serve` and the demo call first: it sets V8's
 * `--heap-growing-percent` for the process (see src/main.ts for why), unless node's own command
 * line already gives that flag, which is the operator's to choose.
 */
import v8 from 'node:v8';
import { heapGrowingPercent, limitHeapGrowth } from '../src/main';

describe('limitHeapGrowth', () => {
  let setFlags: jest.SpyInstance;
  beforeEach(() => {
    // Recorded, not applied: this jest worker's garbage collector is not the subject.
    setFlags = jest.spyOn(v8, 'setFlagsFromString').mockImplementation(() => undefined);
  });
  afterEach(() => setFlags.mockRestore());

  it('sets --heap-growing-percent when node was started without it', () => {
    expect(limitHeapGrowth(['--enable-source-maps', '--max-old-space-size=512'])).toBe(true);
    expect(setFlags.mock.calls).toEqual([[`--heap-growing-percent=${heapGrowingPercent}`]]);
  });

  it.each([[['--heap-growing-percent=0']], [['--heap_growing_percent=300']], [['--heap-growing-percent', '0']]])('keeps the command line’s own %j', (execArgv) => {
    expect(limitHeapGrowth(execArgv)).toBe(false);
    expect(setFlags).not.toHaveBeenCalled();
  });
});
