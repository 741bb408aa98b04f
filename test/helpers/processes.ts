import { spawn, type SpawnOptions } from 'node:child_process';

/** A child process started by a test: its output is kept for failure reports, and it is stopped by PID. */
export interface TrackedProcess {
  readonly pid: number;
  readonly name: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal name) once it has exited. */
  readonly exited: Promise<number | string>;
  isRunning(): boolean;
  /** Sends `signal`, then SIGKILL after `graceMs`, and waits for the exit. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

const running = new Set<TrackedProcess>();

// A test that fails between start and stop must not leave servers behind: whatever is still running when the
// test process exits is killed by PID.
process.once('exit', () => {
  for (const child of running) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone: nothing left to clean up.
    }
  }
});

export function startProcess(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): TrackedProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pid = child.pid;
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let alive = true;
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (error) => {
      output += `\n[spawn error] ${error.message}`;
    });
    child.once('close', (code, signal) => {
      alive = false;
      running.delete(handle);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const handle: TrackedProcess = {
    pid,
    name,
    output: () => output,
    exited,
    isRunning: () => alive,
    stop: async (signal = 'SIGTERM', graceMs = 5000) => {
      if (!alive) return exited;
      child.kill(signal);
      const timer = setTimeout(() => alive && child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
  running.add(handle);
  return handle;
}

/** Runs a command to completion and returns its exit code and output. */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { input?: string; timeoutMs?: number } = {},
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const { input, timeoutMs = 120_000, ...spawnOptions } = options;
  const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], ...spawnOptions });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (input !== undefined) {
    // A child that exits without reading its input closes the pipe: its exit code tells what happened.
    child.stdin?.once('error', (error) => (stderr += `\n[stdin] ${error.message}`));
    child.stdin?.end(input);
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | string>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode, signal) => resolve(exitCode ?? signal ?? 'unknown'));
  });
  clearTimeout(timer);
  return { code, stdout, stderr };
}
