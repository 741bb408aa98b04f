#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { createApp } from './app.js';
import { checkConfigCommand } from './cli/commands/check-config-command.js';
import { runCommand } from './cli/commands/run-command.js';
import { statusCommand } from './cli/commands/status-command.js';
import { syncCommand } from './cli/commands/sync-command.js';
import { ExitCode, fileFaultExitCode, fileFaultOf, type ExitCodeValue } from './cli/exit-codes.js';
import { commandHelp, parseCliArgs, usageLine, USAGE, type CliArgs, type Command } from './cli/parse-args.js';
import { Stdout } from './cli/stdout.js';
import { readVersion } from './cli/version.js';
import { loadConfig } from './config/load-config.js';
import type { Config, LogFormat } from './config/schema.js';
import { ConfigError, ConfigFileUnreadableError, DockerError, LockError, UsageError } from './errors.js';
import { closeLogger, createLogger, type Logger } from './observe/log/create-logger.js';
import { Field } from './observe/log/fields.js';

// Monitoring plugins answer UNKNOWN (3) when they cannot run at all: a bad command line or configuration.
const STATUS_UNKNOWN = 3;
// A bulk sync logs thousands of lines a second: lines a burst writes within this window share one write (journald
// is woken once for them). Errors and warnings are written at once.
const LOG_FLUSH_DELAY_MS = 50;

/**
 * The CLI: argv → config → app → exit code. It never calls process.exit(): the exit code is set and the event loop
 * drains, so the last log line (the cause of a failure) is always written.
 */
async function main(argv: readonly string[], stdout: Stdout): Promise<ExitCodeValue | number> {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const command = error.subject.command as Command | undefined;
    process.stderr.write(`hotcert: ${error.message}\n${usageLine(command)}`);
    return command === 'status' ? STATUS_UNKNOWN : ExitCode.usage;
  }
  if (args.command === 'help') {
    stdout.write(USAGE);
    return ExitCode.ok;
  }
  if (args.help) {
    stdout.write(commandHelp(args.command));
    return ExitCode.ok;
  }
  if (args.command === 'version') {
    stdout.write(`hotcert ${readVersion()}\n`);
    return ExitCode.ok;
  }

  // Until the config is read, log at info in the format the environment asks for (journald under systemd).
  const bootstrapLog = createLogger({ level: 'info', format: bootstrapLogFormat(process.env) });
  let loaded;
  try {
    loaded = await loadConfig({ file: args.configFile, env: process.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logConfigError(bootstrapLog, error);
    await closeLogger(bootstrapLog);
    if (args.command === 'status') return STATUS_UNKNOWN;
    return error instanceof ConfigFileUnreadableError ? ExitCode.noInput : ExitCode.config;
  }
  await closeLogger(bootstrapLog);

  const log = createLogger({ level: loaded.config.log.level, format: loaded.config.log.format, flushDelayMs: LOG_FLUSH_DELAY_MS });
  activeLog = log;
  try {
    return await dispatch(args, loaded.config, loaded.file, log, stdout);
  } catch (error) {
    return exitCodeOf(error, log, args.command);
  } finally {
    activeLog = undefined;
    await closeLogger(log);
  }
}

/** What ends a command, as an exit code, with one line in the log saying why (a stack only for what is unforeseen). */
function exitCodeOf(error: unknown, log: Logger, command: Command): ExitCodeValue | number {
  if (error instanceof UsageError) {
    process.stderr.write(`hotcert: ${error.message}\n${usageLine(command)}`);
    return command === 'status' ? STATUS_UNKNOWN : ExitCode.usage;
  }
  if (error instanceof ConfigError) {
    // A value that validates but names something that does not exist (a user or group).
    logConfigError(log, error);
    return command === 'status' ? STATUS_UNKNOWN : ExitCode.config;
  }
  if (command === 'status') {
    log.error('hotcert status cannot tell', { [Field.error]: error });
    return STATUS_UNKNOWN;
  }
  if (error instanceof DockerError) {
    // Docker is down or refuses: the same as an unreachable target, not a bug.
    log.error('cannot use the Docker API', { [Field.error]: error });
    return ExitCode.unavailable;
  }
  const fileFault = fileFaultOf(error);
  if (fileFault) {
    log.error(fileFault.message, { [Field.errorCode]: fileFault.code, [Field.file]: fileFault.subject.file ?? '' });
    return fileFaultExitCode(fileFault);
  }
  if (error instanceof LockError) {
    log.error(error.message, { [Field.errorCode]: error.code });
    return ExitCode.unavailable;
  }
  log.error('hotcert failed', { [Field.error]: error });
  return ExitCode.software;
}

function logConfigError(log: Logger, error: ConfigError): void {
  const lines = error instanceof ConfigFileUnreadableError ? error.issues.map((issue) => `  ${issue.message}`) : error.issues.map((issue) => `  ${issue.path}: ${issue.message}`);
  log.error([error.message, ...lines].join('\n'), { [Field.errorCode]: error.code });
}

function bootstrapLogFormat(env: NodeJS.ProcessEnv): LogFormat {
  const requested = env.HOTCERT_LOG_FORMAT;
  return requested === 'journald' || requested === 'json' || requested === 'text' ? requested : 'auto';
}

async function dispatch(args: CliArgs, config: Config, file: string | undefined, log: Logger, stdout: Stdout): Promise<ExitCodeValue | number> {
  const names = args.names.length > 0 ? args.names : undefined;
  switch (args.command) {
    case 'run':
      return runCommand(config, file, log);
    case 'sync':
      return syncCommand(createApp(config, log), { dryRun: args.dryRun, force: args.force, ...(names ? { names } : {}) }, stdout);
    case 'status':
      return statusCommand(createApp(config, log), { json: args.json, names, thresholds: config.status }, stdout);
    case 'check-config':
      return checkConfigCommand(createApp(config, log), config, file, stdout);
    default:
      throw new UsageError(`command "${args.command}" is not available here`);
  }
}

// The logger of the running command, so that an error nobody caught is still logged in the configured format
// (journald priority included) before the process exits non-zero and systemd restarts it.
let activeLog: Logger | undefined;

function fail(error: unknown): void {
  if (activeLog) {
    activeLog.error('hotcert failed: unexpected error', { [Field.error]: error });
    void closeLogger(activeLog).finally(() => process.exit(ExitCode.software));
  } else {
    process.stderr.write(`hotcert: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(ExitCode.software);
  }
}

process.on('unhandledRejection', fail);
process.on('uncaughtException', fail);
// A closed stderr (`hotcert status 2>&1 | head -1`) loses log lines, never the command's exit code.
process.stderr.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') fail(error);
});

// V8 lets the old generation grow to up to four times what the last full collection left before it collects again,
// which suits a short script, not a daemon holding thousands of lineages: a 10000-lineage renewal (~35-40 MB live)
// peaked at 219-254 MB RSS, at 176 MB with a factor of 1.5 and the same rate (bench/README, 2026-12-03). V8 reads
// the flag at every collection, so set here it holds for the main thread and for the workers started later.
setFlagsFromString('--heap-growing-percent=50');

main(process.argv.slice(2), new Stdout()).then(
  (code) => {
    process.exitCode = code;
    // Everything was closed and the last line written; should a handle still hold the event loop, do not hang.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  fail,
);
