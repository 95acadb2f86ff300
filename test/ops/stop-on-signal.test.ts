/**
 * What `tessera serve` does on a stop signal (src/main.ts `stopOnSignal`): a graceful stop
 * exits 0, a failed one 1, one that hangs (a store that stops answering mid-shutdown) exits 1
 * at the deadline, and a second signal exits 1 at once. Timers are jest's fake ones.
 */
import { setImmediate as realSetImmediate } from 'node:timers';
import { stopOnSignal } from '../../src/main';
import { createLogger } from '../../src/log/logger';
import { LogCapture } from '../hub/handoff-support';

describe('stopOnSignal', () => {
  let logs: LogCapture;
  let exits: number[];
  const exit = (code: number) => void exits.push(code);
  const logger = () => createLogger({ level: 'info', destination: logs.stream });
  // The real setImmediate (jest fakes the global one): lets the stop's promise settle.
  const settle = () => new Promise((resolve) => realSetImmediate(resolve));

  beforeEach(() => {
    jest.useFakeTimers();
    logs = new LogCapture();
    exits = [];
  });
  afterEach(() => jest.useRealTimers());

  it('exits 0 once the stop finished, and the deadline does nothing after', async () => {
    let finish!: () => void;
    const onSignal = stopOnSignal(() => new Promise<void>((resolve) => (finish = resolve)), logger(), exit, 20_000);
    onSignal('SIGTERM');
    jest.advanceTimersByTime(5_000);
    expect(exits).toEqual([]);
    finish();
    await settle();
    jest.advanceTimersByTime(60_000);
    expect(exits).toEqual([0]);
  });

  it('exits 1 when the stop failed', async () => {
    stopOnSignal(() => Promise.reject(new Error('store close failed')), logger(), exit, 20_000)('SIGTERM');
    await settle();
    expect(exits).toEqual([1]);
    expect(logs.lines.map((l) => l.msg)).toContain('shutdown failed');
  });

  it('exits 1 at the deadline when the stop hangs, saying why', () => {
    stopOnSignal(() => new Promise<void>(() => undefined), logger(), exit, 20_000)('SIGTERM');
    jest.advanceTimersByTime(19_999);
    expect(exits).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(exits).toEqual([1]);
    expect(logs.lines.find((l) => l.msg === 'shutdown did not finish in time: exiting')).toMatchObject({ deadlineMs: 20_000 });
  });

  it('exits 1 at once on a second signal', () => {
    const onSignal = stopOnSignal(() => new Promise<void>(() => undefined), logger(), exit, 20_000);
    onSignal('SIGTERM');
    expect(exits).toEqual([]);
    onSignal('SIGINT');
    expect(exits).toEqual([1]);
  });
});
