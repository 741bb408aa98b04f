#!/usr/bin/env node
import { createApp } from './app.js';
import { checkConfigCommand } from './cli/commands/check-config-command.js';
import { runCommand } from './cli/commands/run-command.js';
import { statusCommand } from './cli/commands/status-command.js';
import { syncCommand } from './cli/commands/sync-command.js';
import { ExitCode, type ExitCodeValue } from './cli/exit-codes.js';
import { parseCliArgs, USAGE, type CliArgs } from './cli/parse-args.js';
import { readVersion } from './cli/version.js';
import { loadConfig } from './config/load-config.js';
import type { Config, LogFormat } from './config/schema.js';
import { ConfigError, DockerError, UsageError } from './errors.js';
import { closeLogger, createLogger, type Logger } from './observe/log/create-logger.js';
import { Field } from './observe/log/fields.js';

/**
 * The CLI: argv → config → app → exit code. It never calls process.exit(): the exit code is set and the event loop
 * drains, so the last log line (the cause of a failure) is always written.
 */
async function main(argv: readonly string[]): Promise<ExitCodeValue | number> {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`hotcert: ${error.message}\n\n${USAGE}`);
    return ExitCode.usage;
  }
  if (args.command === 'help') {
    process.stdout.write(USAGE);
    return ExitCode.ok;
  }
  if (args.command === 'version') {
    process.stdout.write(`hotcert ${readVersion()}\n`);
    return ExitCode.ok;
  }

  // Until the config is read, log at info in the format the environment asks for (journald under systemd).
  const bootstrapLog = createLogger({ level: 'info', format: bootstrapLogFormat(process.env) });
  let loaded;
  try {
    loaded = await loadConfig({ file: args.configFile, env: process.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const lines = error.issues.map((issue) => `  ${issue.path}: ${issue.message}`);
    bootstrapLog.error([error.message, ...lines].join('\n'), { [Field.errorCode]: error.code });
    await closeLogger(bootstrapLog);
    return ExitCode.config;
  }
  await closeLogger(bootstrapLog);

  const log = createLogger({ level: loaded.config.log.level, format: loaded.config.log.format });
  activeLog = log;
  try {
    return await dispatch(args, loaded.config, loaded.file, log);
  } catch (error) {
    if (error instanceof ConfigError) {
      // A value that validates but names something that does not exist (a user or group).
      log.error([error.message, ...error.issues.map((issue) => `  ${issue.path}: ${issue.message}`)].join('\n'), { [Field.errorCode]: error.code });
      return ExitCode.config;
    }
    if (error instanceof DockerError) {
      // Docker is down or refuses: the same as an unreachable target, not a bug.
      log.error('cannot use the Docker API', { [Field.error]: error });
      return ExitCode.unavailable;
    }
    log.error('hotcert failed', { [Field.error]: error });
    return ExitCode.software;
  } finally {
    activeLog = undefined;
    await closeLogger(log);
  }
}

function bootstrapLogFormat(env: NodeJS.ProcessEnv): LogFormat {
  const requested = env.HOTCERT_LOG_FORMAT;
  return requested === 'journald' || requested === 'json' || requested === 'text' ? requested : 'auto';
}

async function dispatch(args: CliArgs, config: Config, file: string | undefined, log: Logger): Promise<ExitCodeValue | number> {
  switch (args.command) {
    case 'run':
      return runCommand(config, file, log);
    case 'sync':
      return syncCommand(createApp(config, log), { dryRun: args.dryRun, force: args.force });
    case 'status':
      return statusCommand(createApp(config, log), { json: args.json, warnDays: config.status.warnDays });
    case 'check-config':
      return checkConfigCommand(createApp(config, log), config, file);
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Everything was closed and the last line written; should a handle still hold the event loop, do not hang.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  fail,
);
