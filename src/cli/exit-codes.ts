/** Exit codes, in the style of sysexits.h, so that systemd and monitoring can tell causes apart. */
export const ExitCode = {
  /** Everything asked for succeeded. */
  ok: 0,
  /** The command line is wrong (EX_USAGE). */
  usage: 64,
  /** A check or a target failed: unreachable, refused, not writable (EX_UNAVAILABLE). */
  unavailable: 69,
  /** An error hotcert did not anticipate; its cause is logged (EX_SOFTWARE). */
  software: 70,
  /** Only work that is expected to succeed later remains, e.g. a lineage Certbot is still writing (EX_TEMPFAIL). */
  tempfail: 75,
  /** The configuration is invalid; restarting will not help (EX_CONFIG, systemd's RestartPreventExitStatus). */
  config: 78,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
