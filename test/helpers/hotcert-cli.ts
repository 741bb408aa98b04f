import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, startProcess, type TrackedProcess } from './processes.js';

/** The package root: the nearest directory above this file with a package.json (from test/ or a compiled copy). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The built CLI, run exactly as an operator runs it (`npm run build` first; test/run does). */
export const HOTCERT_BIN = join(packageRoot(), 'dist', 'main.js');

export interface CliResult {
  readonly code: number | string;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runHotcert(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  if (!existsSync(HOTCERT_BIN)) throw new Error(`${HOTCERT_BIN} is missing: run "npm run build" first`);
  // A clean environment: no HOTCERT_* or JOURNAL_STREAM leaking in from the shell that runs the tests.
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('HOTCERT_') && key !== 'JOURNAL_STREAM'));
  return runCommand(process.execPath, [HOTCERT_BIN, ...args], { env: { ...base, ...env }, timeoutMs: 60_000 });
}

/**
 * `hotcert run` as an operator starts it, in text log format, its output kept for assertions and failure reports.
 * The test process's own HOTCERT_* variables and JOURNAL_STREAM are not passed on: only `env` configures it.
 */
export function startHotcertRun(configFile: string, env: NodeJS.ProcessEnv = {}): TrackedProcess {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('HOTCERT_') && key !== 'JOURNAL_STREAM'));
  return startProcess('hotcert run', process.execPath, [HOTCERT_BIN, 'run', '--config', configFile], { env: { ...base, HOTCERT_LOG_FORMAT: 'text', ...env } });
}
