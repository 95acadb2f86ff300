/**
 * Runs the real hub as a separate process (`node dist/cli/main.js serve`, built by `npm test`'s
 * `pretest`), configured only through TESSERA_* variables, as an operator runs it. For tests that
 * need what an in-process app cannot show: several instances on one store, SIGKILL, restarts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const cliPath = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

export interface HubProcess {
  /** `http://127.0.0.1:<port>` of this instance. */
  url: string;
  child: ChildProcess;
  /** Every JSON log line the process has written so far (stdout). */
  logs: Record<string, unknown>[];
  /** SIGTERM and wait for the exit (graceful shutdown); resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

/**
 * Starts one hub process and resolves once it logged "hub listening". `env` is added to a clean
 * base (no TESSERA_* from the test's own environment leaks in); `TESSERA_PORT` defaults to 0 (a
 * free port, read back from the log line). Rejects with the process's output when it exits or
 * takes longer than `timeoutMs` to listen. `options.cwd` is the process's working directory.
 */
export async function startHubProcess(env: Record<string, string>, timeoutMs = 20_000, options: { cwd?: string } = {}): Promise<HubProcess> {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`npm run build\` first (npm test does it in pretest)`);
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TESSERA_'))) as Record<string, string>;
  const child = spawn(process.execPath, [cliPath, 'serve'], {
    env: { ...base, TESSERA_HOST: '127.0.0.1', TESSERA_PORT: '0', TESSERA_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Relative paths of the configuration (the default `data/tessera.db`) resolve here.
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  const logs: Record<string, unknown>[] = [];
  let output = '';
  let pending = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hub process did not listen within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        logs.push(entry);
        if (entry.msg === 'hub listening' && typeof entry.url === 'string') {
          clearTimeout(timer);
          resolve(entry.url);
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`hub process exited with ${String(code)} before listening:\n${output}`));
    });
  });

  return {
    url,
    child,
    logs,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
