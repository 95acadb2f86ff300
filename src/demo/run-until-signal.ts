/**
 * The process side of the demo's entry points (`start`, `standalone-sites`, `topology`): start
 * something, stop it on SIGINT / SIGTERM and exit 0, exit 1 with the reason when starting or
 * stopping fails. One place, so each entry point says only what it starts.
 */

/** Something running that can be stopped. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** Handle given to `start`: lets it end the process itself (e.g. when a child died). */
export interface RunControl {
  /** Stops what was started and exits with `code`; later calls do nothing. */
  shutdown(code: number): void;
}

/**
 * Runs `start` as the process's main work, when `module` is the process's main module (so the
 * file can also be imported by tests).
 *
 * @example
 * runUntilSignal(module, 'demo', async () => startDemo());
 */
export function runUntilSignal(entry: NodeJS.Module, name: string, start: (control: RunControl) => Promise<Stoppable>): void {
  if (require.main !== entry) return;
  let running: Stoppable | null = null;
  let exiting = false;
  /** A shutdown asked for while still starting waits for the start to finish. */
  let requested: number | null = null;
  const control: RunControl = {
    shutdown(code) {
      if (running === null) {
        requested ??= code;
        return;
      }
      if (exiting) return;
      exiting = true;
      running.stop().then(
        () => process.exit(code),
        (err: unknown) => {
          process.stderr.write(`${name}: stopping failed: ${String(err)}\n`);
          process.exit(1);
        },
      );
    },
  };
  start(control).then(
    (started) => {
      running = started;
      process.once('SIGINT', () => control.shutdown(0));
      process.once('SIGTERM', () => control.shutdown(0));
      if (requested !== null) control.shutdown(requested);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
