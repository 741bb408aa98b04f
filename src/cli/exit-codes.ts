import { FileWriteError } from '../errors.js';

/** Exit codes, in the style of sysexits.h, so that systemd and monitoring can tell causes apart. */
export const ExitCode = {
  /** Everything asked for succeeded. */
  ok: 0,
  /** The command line is wrong (EX_USAGE). */
  usage: 64,
  /** The configuration file named with --config does not exist or cannot be read (EX_NOINPUT). */
  noInput: 66,
  /** A check or a target failed: unreachable, refused, not writable (EX_UNAVAILABLE). */
  unavailable: 69,
  /** An error hotcert did not anticipate; its cause is logged (EX_SOFTWARE). */
  software: 70,
  /** hotcert cannot create a file of its own: read-only file system, a missing directory (EX_CANTCREAT). */
  cantCreate: 73,
  /** Writing a file of hotcert's failed: no space left, an I/O error (EX_IOERR). */
  ioError: 74,
  /** Only work that is expected to succeed later remains, e.g. a lineage Certbot is still writing (EX_TEMPFAIL). */
  tempfail: 75,
  /** No permission on a file or directory of hotcert's (EX_NOPERM). */
  noPermission: 77,
  /** The configuration is invalid; restarting will not help (EX_CONFIG, systemd's RestartPreventExitStatus). */
  config: 78,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code of a host fault writing hotcert's files: 77 no permission, 74 no space or I/O, 73 otherwise. */
export function fileFaultExitCode(error: FileWriteError): ExitCodeValue {
  switch (error.errno) {
    case 'EACCES':
    case 'EPERM':
      return ExitCode.noPermission;
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EIO':
      return ExitCode.ioError;
    default:
      return ExitCode.cantCreate;
  }
}

/** The FileWriteError a failure came from, when the host's disk is its cause. */
export function fileFaultOf(error: unknown): FileWriteError | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; current = current.cause, depth += 1) {
    if (current instanceof FileWriteError) return current;
  }
  return undefined;
}
