#!/usr/bin/env node
import { createApp } from './app.js';
import { formatFindings } from './check/finding.js';
import { ExitCode, type ExitCodeValue } from './cli/exit-codes.js';
import { parseCliArgs, USAGE, type CliArgs } from './cli/parse-args.js';
import { readVersion } from './cli/version.js';
import { loadConfig } from './config/load-config.js';
import type { LogFormat } from './config/schema.js';
import { ConfigError, LockHeldError, UsageError } from './errors.js';
import { closeLogger, createLogger, type Logger } from './log/create-logger.js';
import { Field } from './log/fields.js';

/**
 * The CLI: argv → config → app → exit code. It never calls process.exit(): the exit code is set and the event loop
 * drains, so the last log line (the cause of a failure) is always written.
 */
async function main(argv: readonly string[]): Promise<ExitCodeValue> {
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
  try {
    return await runCommand(args, loaded.config, loaded.file, log);
  } catch (error) {
    log.error('hotcert failed', { [Field.error]: error });
    return ExitCode.software;
  } finally {
    await closeLogger(log);
  }
}

function bootstrapLogFormat(env: NodeJS.ProcessEnv): LogFormat {
  const requested = env.HOTCERT_LOG_FORMAT;
  return requested === 'journald' || requested === 'json' || requested === 'text' ? requested : 'auto';
}

async function runCommand(
  args: CliArgs,
  config: Parameters<typeof createApp>[0],
  file: string | undefined,
  log: Logger,
): Promise<ExitCodeValue> {
  const app = createApp(config, log);
  switch (args.command) {
    case 'check-config': {
      const source = file ?? 'defaults (no configuration file)';
      const configFinding = {
        status: 'ok' as const,
        subject: 'config',
        message: `${source}: valid, ${config.targets.length} target${config.targets.length === 1 ? '' : 's'}`,
      };
      const findings = [configFinding, ...(await app.checkConfig())];
      const failed = findings.filter((finding) => finding.status === 'fail').length;
      process.stdout.write(`${formatFindings(findings)}\n`);
      process.stdout.write(failed === 0 ? 'check-config: all checks passed\n' : `check-config: ${failed} check${failed === 1 ? '' : 's'} failed\n`);
      return failed === 0 ? ExitCode.ok : ExitCode.unavailable;
    }
    case 'sync':
      return runSync(app, args);
    default:
      throw new UsageError(`command "${args.command}" is not available here`);
  }
}

async function runSync(app: ReturnType<typeof createApp>, args: CliArgs): Promise<ExitCodeValue> {
  let report;
  try {
    report = await app.sync({ dryRun: args.dryRun, force: args.force });
  } catch (error) {
    if (error instanceof LockHeldError) {
      process.stderr.write(`hotcert: ${error.message}\n`);
      return ExitCode.tempfail;
    }
    throw error;
  }
  if (args.dryRun) {
    for (const outcome of report.outcomes) {
      const steps = outcome.plannedSteps?.join('; ') ?? outcome.reason ?? '';
      process.stdout.write(`${outcome.lineage}\t${outcome.target}\t${outcome.kind}${steps ? `\t${steps}` : ''}\n`);
    }
  }
  const kinds = new Set(report.outcomes.map((outcome) => outcome.kind));
  if (kinds.has('failed') || kinds.has('held')) return ExitCode.unavailable;
  if (kinds.has('not-ready')) return ExitCode.tempfail;
  return ExitCode.ok;
}

process.on('unhandledRejection', (reason) => {
  process.stderr.write(`hotcert: unexpected error: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`);
  process.exitCode = ExitCode.software;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`hotcert: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = ExitCode.software;
  },
);
