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
  readonly code: string = 'CONFIG_INVALID';

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

/** The configuration file named with --config (or $HOTCERT_CONFIG) does not exist or cannot be read. */
export class ConfigFileUnreadableError extends ConfigError {
  override readonly code = 'CONFIG_UNREADABLE';

  constructor(source: string, issues: readonly ConfigIssue[], options?: ErrorOptions) {
    super(source, issues, options);
    this.message = `cannot read the configuration file ${source}`;
  }
}

/** A runtime API address in the configuration or on the command line does not parse. */
export class RuntimeAddressError extends HotcertError {
  readonly code = 'RUNTIME_ADDRESS_INVALID';
}

/** The runtime API could not be reached: nothing was sent (no socket, connection refused, no client in the container). */
export class RuntimeTransportError extends HotcertError {
  readonly code: string = 'RUNTIME_UNREACHABLE';
}

/**
 * The connection closed or broke while a request waited for its reply: the request may or may not have run
 * (HAProxy 2.6 to 3.3 also close it without a word for a command larger than tune.bufsize).
 */
export class RuntimeConnectionClosedError extends RuntimeTransportError {
  override readonly code = 'RUNTIME_CONNECTION_CLOSED';

  /** @param partial what arrived before the close (see PartialReplies). */
  constructor(
    message: string,
    subject: ErrorSubject = {},
    options?: ErrorOptions,
    readonly partial: PartialReplies = NO_REPLIES,
  ) {
    super(message, subject, options);
  }
}

/** What a prompt session received of a batch before it broke: the replies, the last one cut short. */
export interface PartialReplies {
  readonly replies: readonly string[];
  /** The cut-short reply was only `+ ` continuation prompts: HAProxy took payload lines and never answered. */
  readonly continuationOnly: boolean;
}

export const NO_REPLIES: PartialReplies = { replies: [], continuationOnly: false };

/** The runtime API did not answer within the deadline: the request may or may not have run. */
export class RuntimeTimeoutError extends HotcertError {
  readonly code = 'RUNTIME_TIMEOUT';

  constructor(
    message: string,
    subject: ErrorSubject = {},
    options?: ErrorOptions,
    readonly partial: PartialReplies = NO_REPLIES,
  ) {
    super(message, subject, options);
  }
}

/**
 * HAProxy could not take a command this large: it closed the connection, or acknowledged the payload's lines and
 * never answered (2.6.12 then crashes on the next such command), or said so (3.4). The target is sent nothing this
 * large again.
 */
export class CommandTooLargeError extends HotcertError {
  readonly code = 'RUNTIME_COMMAND_TOO_LARGE';

  constructor(
    message: string,
    readonly commandBytes: number,
    subject: ErrorSubject = {},
    options?: ErrorOptions,
  ) {
    super(message, subject, options);
  }
}

/** Whether a runtime request's outcome is unknown (sent, no full reply): the facts must be gathered again. */
export function isUnclearOutcome(error: unknown): boolean {
  return error instanceof RuntimeConnectionClosedError || error instanceof RuntimeTimeoutError;
}

/** Whether the runtime API could not be used at all (nothing was sent). */
export function isUnreachable(error: unknown): boolean {
  return error instanceof RuntimeTransportError && !(error instanceof RuntimeConnectionClosedError);
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

/** HAProxy refused a bundle, and undoing what the attempt left (its store, the bundle file) failed too. */
export class CleanupFailedError extends HotcertError {
  readonly code = 'CLEANUP_FAILED';
}

/** Another runtime API client keeps a certificate transaction open (HAProxy has one per process, shared). */
export class TransactionBusyError extends HotcertError {
  readonly code = 'RUNTIME_TRANSACTION_BUSY';
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
      // A system error hotcert's own error already put in words ("no space left on the device (ENOSPC)").
      const cause: unknown = current.cause;
      current = current instanceof HotcertError && typeof (cause as NodeJS.ErrnoException | undefined)?.syscall === 'string' ? undefined : cause;
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

/** A Kubernetes TLS Secret cannot be deployed as it is: a file missing or broken, a key that does not match. */
export class SecretInvalidError extends HotcertError {
  readonly code = 'SECRET_INVALID';
}

/** Two sources define the same certificate name, or a source has a name hotcert refuses. */
export class SourceNameRefusedError extends HotcertError {
  readonly code = 'SOURCE_NAME_REFUSED';
}

/** A file hotcert writes (bundle, crt-list, lock, state) could not be written, restored or removed. */
export class FileWriteError extends HotcertError {
  readonly code = 'FILE_WRITE_FAILED';

  /** The system's reason (ENOSPC, EROFS, EACCES…), for the exit code and for alerts. */
  get errno(): string | undefined {
    return (this.cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

/** A file system error in words an operator acts on: "no space left on the device (ENOSPC)". */
export function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EDQUOT: 'the disk quota is exceeded',
    EROFS: 'the file system is read-only',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOENT: 'no such file or directory',
    ENOTDIR: 'a part of the path is not a directory',
    EISDIR: 'is a directory',
    EIO: 'input/output error',
  };
  if (code === undefined) return (error as Error).message ?? String(error);
  return words[code] ? `${words[code]} (${code})` : code;
}

/** A bundle cannot be sent to a target: too big for one runtime command. */
export class BundleTooLargeError extends HotcertError {
  readonly code = 'BUNDLE_TOO_LARGE';
}

/** Another hotcert process is writing to the same HAProxy targets. */
export class LockHeldError extends HotcertError {
  readonly code = 'LOCK_HELD';
}

/** The lock cannot be taken at all (flock(1) missing or failing). */
export class LockError extends HotcertError {
  readonly code = 'LOCK_FAILED';
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

/** The kernel refused another inotify watch or instance (fs.inotify.max_user_watches, max_user_instances). */
export class WatchLimitError extends HotcertError {
  readonly code = 'WATCH_LIMIT';

  constructor(
    readonly dir: string,
    readonly errno: string,
    options?: ErrorOptions,
  ) {
    super(
      `cannot watch ${dir}: the inotify limit is reached (${errno}); raise it, e.g. "sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512" (and persist it in /etc/sysctl.d/)`,
      { file: dir },
      options,
    );
  }
}
