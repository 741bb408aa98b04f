import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

export const COMMANDS = ['run', 'sync', 'status', 'check-config', 'help', 'version'] as const;
export type Command = (typeof COMMANDS)[number];

export interface CliArgs {
  readonly command: Command;
  /** `hotcert <command> --help`: that command's help instead of running it. */
  readonly help: boolean;
  readonly configFile: string | undefined;
  readonly dryRun: boolean;
  readonly force: boolean;
  readonly json: boolean;
  /** Certificate names given to sync or status; empty for all. */
  readonly names: readonly string[];
}

interface CommandSpec {
  readonly usage: string;
  readonly summary: string;
  readonly options: readonly ('dry-run' | 'force' | 'json')[];
  readonly names: boolean;
  readonly details: string;
}

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  'dry-run': { type: 'boolean', short: 'n' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const CONFIG_OPTION = '  -c, --config FILE   configuration file (default /etc/hotcert/hotcert.yaml, or $HOTCERT_CONFIG)';

const SPECS: Record<Exclude<Command, 'help' | 'version'>, CommandSpec> = {
  run: {
    usage: 'hotcert run [--config FILE]',
    summary: 'the daemon: sync every certificate, then follow the source and keep every target in sync',
    options: [],
    names: false,
    details: `New certificates and renewals take the same path, with no Certbot hook. SIGHUP re-reads the configuration
(an invalid one is reported and the running one kept) and resyncs; SIGTERM stops it with exit code 0.`,
  },
  sync: {
    usage: 'hotcert sync [--config FILE] [--dry-run] [--force] [LINEAGE...]',
    summary: 'make every target serve what the source holds, once, then exit',
    options: ['dry-run', 'force'],
    names: true,
    details: `New certificates are added, renewed ones hot-swapped, the bundle files and the crt-list file kept in step.
With LINEAGE names, only those.

  -n, --dry-run       print what would be done (runtime commands without payloads) and change nothing
      --force         deploy even a certificate older than the one hotcert deployed (Certbot rolled its links back)

Exit codes: 0 every target in sync; 64 usage (an unknown LINEAGE); 69 something failed or was held back;
73, 74, 77 hotcert cannot write its files (read-only or full disk, no permission); 75 only certificates the
source is still writing remain, or another hotcert holds the lock; 78 invalid configuration.`,
  },
  status: {
    usage: 'hotcert status [--config FILE] [--json] [LINEAGE...]',
    summary: 'a monitoring check: every certificate on every target, served or not, and when it expires',
    options: ['json'],
    names: true,
    details: `The first line is "HOTCERT OK|WARNING|CRITICAL|UNKNOWN - <what is wrong> | <perfdata>", then a table.
With LINEAGE names, only those. Exit codes (Monitoring Plugins): 0 OK; 1 WARNING (a served certificate expires
within status.warnDays, a deleted lineage is still served, the daemon stopped); 2 CRITICAL (not in sync, or
expiring within status.criticalDays); 3 UNKNOWN (the configuration cannot be read, or no target answers and no
daemon state exists).

      --json          the report as JSON, with the log's field names`,
  },
  'check-config': {
    usage: 'hotcert check-config [--config FILE]',
    summary: 'validate the configuration, then check the source, hotcert\'s directories and every target',
    options: [],
    names: false,
    details: `Every problem is listed with its key. Each target: reachable, its HAProxy version, "level admin", the
crt-list loaded; a container target also from inside the container, as its user. Exit code 0 when every check
passed, 69 when one failed, 78 when the configuration is invalid.`,
  },
};

export const USAGE = `Usage: hotcert <command> [--config FILE] [options]

Keeps every HAProxy serving the current certificates of Certbot's live directory, hot-swapped through the HAProxy
Runtime API (no reload, no Certbot hooks).

Commands:
${Object.entries(SPECS)
  .map(([name, spec]) => `  ${name.padEnd(13)}  ${spec.summary}`)
  .join('\n')}
  help           show this text;  hotcert <command> --help  shows a command's own
  version        print hotcert's version

${CONFIG_OPTION}
  -h, --help          show help
  -V, --version       print the version
`;

/** `hotcert <command> --help`. */
export function commandHelp(command: Command): string {
  if (command === 'help' || command === 'version') return USAGE;
  const spec = SPECS[command];
  return `Usage: ${spec.usage}\n\n${spec.summary[0]?.toUpperCase()}${spec.summary.slice(1)}.\n${spec.details}\n\n${CONFIG_OPTION}\n  -h, --help          show this text\n`;
}

/** The one line a usage error prints with its message: the command's usage, or the global one. */
export function usageLine(command: Command | undefined): string {
  if (command && command !== 'help' && command !== 'version') return `Usage: ${SPECS[command].usage}\n(hotcert ${command} --help for more)\n`;
  return 'Usage: hotcert <command> [--config FILE] [options]   (hotcert --help for the commands)\n';
}

/**
 * Parses the command line. @throws UsageError in hotcert's words, with `command` set when it is known, so that
 * the caller prints that command's usage line.
 */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  // The command first, leniently, so that an error in the options can print that command's usage.
  const command = parseArgs({ args: [...argv], allowPositionals: true, strict: false, options: OPTIONS }).positionals[0];
  const known = (COMMANDS as readonly string[]).includes(command ?? '') ? (command as Command) : undefined;
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: OPTIONS });
  } catch (error) {
    throw new UsageError(rewordParseError(error as Error & { code?: string }), known ? { command: known } : {}, { cause: error });
  }
  const { values, positionals } = parsed;
  const flags = { configFile: values.config, dryRun: values['dry-run'] ?? false, force: values.force ?? false, json: values.json ?? false };
  if (positionals.length === 0) {
    if (values.version) return { command: 'version', help: false, names: [], ...flags };
    if (values.help) return { command: 'help', help: false, names: [], ...flags };
    throw new UsageError('no command given');
  }
  const [name, ...rest] = positionals as [string, ...string[]];
  if (!known) throw new UsageError(`unknown command "${name}"`);
  if (known === 'help' || known === 'version') return { command: known, help: false, names: [], ...flags };
  const spec = SPECS[known];
  const context = { command: known };
  if (!spec.names && rest.length > 0) throw new UsageError(`"${known}" takes no arguments (got "${rest[0]}")`, context);
  for (const option of ['dry-run', 'force', 'json'] as const) {
    if (values[option] && !spec.options.includes(option)) throw new UsageError(`--${option} is not an option of "${known}"`, context);
  }
  return { command: known, help: values.help ?? false, names: rest, ...flags };
}

// node:util's parseArgs speaks its own words ("Option '-c, --config <value>' argument missing"): an operator reads
// hotcert's.
function rewordParseError(error: Error & { code?: string }): string {
  const option = /'(-\w, )?(--[\w-]+)/.exec(error.message)?.[2] ?? /'(-[\w-]+)'/.exec(error.message)?.[1];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return option === '--config' ? '--config needs a file name' : `${option ?? 'an option'} takes no value`;
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? ''}`.trim();
    default:
      return error.message.replace(/\. To specify a positional.*$/s, '');
  }
}
