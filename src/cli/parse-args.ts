import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

export const COMMANDS = ['check-config', 'help', 'version'] as const;
export type Command = (typeof COMMANDS)[number];

export interface CliArgs {
  readonly command: Command;
  readonly configFile: string | undefined;
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
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional.*$/s, ''), {}, { cause: error });
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help', configFile: values.config };
  if (values.version) return { command: 'version', configFile: values.config };
  if (positionals.length === 0) throw new UsageError('no command given');
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const command = positionals[0] as string;
  if (!(COMMANDS as readonly string[]).includes(command)) throw new UsageError(`unknown command "${command}"`);
  return { command: command as Command, configFile: values.config };
}

export const USAGE = `Usage: hotcert <command> [--config FILE]

Keeps every HAProxy serving the current Let's Encrypt certificates from Certbot's live directory, hot-swapped
through the HAProxy Runtime API (no reload, no Certbot hooks).

Commands:
  check-config   validate the configuration, then check Certbot's directory, hotcert's directories and each
                 target's runtime API (reachable, level admin, crt-list loaded)
  help           show this text
  version        print hotcert's version

Options:
  -c, --config FILE   configuration file (default /etc/hotcert/hotcert.yaml, or $HOTCERT_CONFIG;
                      a missing default file means all defaults)
  -h, --help          show this text
  -V, --version       print the version

Exit codes:
  0   success
  64  usage error (unknown command or option)
  69  a check or a target failed (unreachable, refused, not writable)
  70  internal error (the cause is logged)
  75  temporary failure: retrying later is expected to succeed
  78  invalid configuration (every problem is listed with its key)
`;
