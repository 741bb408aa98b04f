/**
 * The error family of hotcert. Every error carries a stable `code` (greppable, alertable), the subject it is
 * about (lineage, target, file, config key) and its cause. Messages and subjects never contain PEM text, key
 * material or a runtime command's payload: callers pass names, paths and HAProxy's reply text only.
 */
export type ErrorSubject = Readonly<Record<string, string | number>>;

export abstract class HotcertError extends Error {
  abstract readonly code: string;

  constructor(
    message: string,
    readonly subject: ErrorSubject = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One problem found in the configuration, with the key path it is about (`targets[0].runtime`). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** The configuration cannot be used. Lists every problem at once, not only the first. */
export class ConfigError extends HotcertError {
  readonly code = 'CONFIG_INVALID';

  constructor(
    readonly source: string,
    readonly issues: readonly ConfigIssue[],
    options?: ErrorOptions,
  ) {
    super(
      `invalid configuration in ${source}: ${issues.length} problem${issues.length === 1 ? '' : 's'}`,
      { file: source },
      options,
    );
  }
}

/** A runtime API address in the configuration or on the command line does not parse. */
export class RuntimeAddressError extends HotcertError {
  readonly code = 'RUNTIME_ADDRESS_INVALID';
}

/** The runtime API could not be reached or the connection broke before a full reply arrived. */
export class RuntimeTransportError extends HotcertError {
  readonly code: string = 'RUNTIME_UNREACHABLE';
}

/** HAProxy closed the connection while a request waited for its reply (HAProxy 2.6 does so for an oversized command). */
export class RuntimeConnectionClosedError extends RuntimeTransportError {
  override readonly code = 'RUNTIME_CONNECTION_CLOSED';
}

/** The runtime API did not answer within the deadline. */
export class RuntimeTimeoutError extends HotcertError {
  readonly code = 'RUNTIME_TIMEOUT';
}

/** HAProxy answered, but not with what the command needed. `reply` is HAProxy's own text (never a payload). */
export class RuntimeCommandError extends HotcertError {
  readonly code = 'RUNTIME_COMMAND_FAILED';

  constructor(
    message: string,
    readonly reply: string,
    subject: ErrorSubject = {},
    options?: ErrorOptions,
  ) {
    super(message, subject, options);
  }
}

/** The command line is wrong (unknown command or option). */
export class UsageError extends HotcertError {
  readonly code = 'USAGE';
}

/** Walks `cause` links into one line: "a: b: c". Stops at a depth that only a cycle could reach. */
export function describeErrorChain(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth += 1) {
    if (current instanceof Error) {
      parts.push(current.message);
      current = current.cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  return parts.join(': ');
}

/** The stable code of an error, or its Node system code (ENOENT, EACCES), or `UNEXPECTED`. */
export function errorCodeOf(error: unknown): string {
  if (error instanceof HotcertError) return error.code;
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string') {
    return (error as NodeJS.ErrnoException).code as string;
  }
  return 'UNEXPECTED';
}

/** A lineage on disk cannot be deployed as it is: broken PEM, key that does not match, link outside the dir. */
export class LineageInvalidError extends HotcertError {
  readonly code = 'LINEAGE_INVALID';
}

/** A file hotcert writes (bundle, crt-list) could not be written or restored. */
export class FileWriteError extends HotcertError {
  readonly code = 'FILE_WRITE_FAILED';
}

/** A bundle cannot be sent to a target: too big for one runtime command. */
export class BundleTooLargeError extends HotcertError {
  readonly code = 'BUNDLE_TOO_LARGE';
}

/** Another hotcert process is writing to the same HAProxy targets. */
export class LockHeldError extends HotcertError {
  readonly code = 'LOCK_HELD';
}

/** The Docker API could not be reached, refused a request, or a container a target names is not there. */
export class DockerError extends HotcertError {
  readonly code: string = 'DOCKER_FAILED';
}

/** A target's container exists but is not running. */
export class ContainerNotRunningError extends DockerError {
  override readonly code = 'DOCKER_CONTAINER_NOT_RUNNING';
}

/** The reload fallback ran, but the container does not serve the new certificate afterwards. */
export class ReloadFallbackError extends HotcertError {
  readonly code = 'RELOAD_FALLBACK_FAILED';
}
