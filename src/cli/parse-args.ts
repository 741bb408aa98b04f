import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

export const COMMANDS = ['run', 'sync', 'status', 'check-config', 'help', 'version'] as const;
export type Command = (typeof COMMANDS)[number];

export interface CliArgs {
  readonly command: Command;
  readonly configFile: string | undefined;
  readonly dryRun: boolean;
  readonly force: boolean;
  readonly json: boolean;
}

export function parseCliArgs(argv: readonly string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
        'dry-run': { type: 'boolean', short: 'n' },
        force: { type: 'boolean' },
        json: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional.*$/s, ''), {}, { cause: error });
  }
  const { values, positionals } = parsed;
  const flags = { configFile: values.config, dryRun: values['dry-run'] ?? false, force: values.force ?? false, json: values.json ?? false };
  if (values.help) return { command: 'help', ...flags };
  if (values.version) return { command: 'version', ...flags };
  if (positionals.length === 0) throw new UsageError('no command given');
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const command = positionals[0] as string;
  if (!(COMMANDS as readonly string[]).includes(command)) throw new UsageError(`unknown command "${command}"`);
  if ((flags.dryRun || flags.force) && command !== 'sync') throw new UsageError('--dry-run and --force go with "sync"');
  if (flags.json && command !== 'status') throw new UsageError('--json goes with "status"');
  return { command: command as Command, ...flags };
}

export const USAGE = `Usage: hotcert <command> [--config FILE] [options]

Keeps every HAProxy serving the current Let's Encrypt certificates from Certbot's live directory, hot-swapped
through the HAProxy Runtime API (no reload, no Certbot hooks).

Commands:
  run            the daemon: sync every lineage, then watch Certbot's directory and keep every target in sync;
                 SIGHUP re-reads the configuration and resyncs, SIGTERM stops it
  sync           make every target serve what Certbot's live dir holds, once: new lineages are added, renewed ones
                 hot-swapped, the bundle files and the crt-list file kept in step; then exit
  status         one row per lineage and target: serial on disk and served, expiry, state, last deploy;
                 exit 0 all in sync, 1 a certificate expires within status.warnDays, 2 something not in sync
  check-config   validate the configuration, then check Certbot's directory, hotcert's directories and each
                 target's runtime API (reachable, level admin, crt-list loaded)
  help           show this text
  version        print hotcert's version

Options:
  -c, --config FILE   configuration file (default /etc/hotcert/hotcert.yaml, or $HOTCERT_CONFIG;
                      a missing default file means all defaults)
  -n, --dry-run       with sync: print what would be done (runtime commands without payloads) and touch nothing
      --force         with sync: deploy even a certificate older than the one served (Certbot rolled its links back)
      --json          with status: print the rows as JSON
  -h, --help          show this text
  -V, --version       print the version

Exit codes (status has its own, above):
  0   success
  64  usage error (unknown command or option)
  69  a check, a target or a deploy failed, or a rollback was held back (see the log)
  70  internal error (the cause is logged)
  75  only lineages Certbot is still writing remain (not-ready), or another hotcert holds the lock: retry shortly
  78  invalid configuration (every problem is listed with its key)
`;
