import { fstatSync } from 'node:fs';
import type { Writable } from 'node:stream';
import winston from 'winston';
import type { LogFormat, LogLevel } from '../../config/schema.js';
import { BatchedStreamTransport } from './batched-stream-transport.js';
import { errorFields, journaldLine, jsonLine, redaction, textLine } from './formats.js';

export type Logger = winston.Logger;

const LEVELS = { error: 0, warn: 1, info: 2, debug: 3 };

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Where lines go; stderr by default so that command output on stdout stays clean. */
  readonly stream?: Writable & { fd?: number };
  readonly env?: NodeJS.ProcessEnv;
  /** How long a line may wait to share a write with the lines after it (BatchedStreamTransport); 0 by default. */
  readonly flushDelayMs?: number;
}

/**
 * `auto` means journald only when journald itself is reading the stream: systemd sets JOURNAL_STREAM to the
 * `device:inode` of the stream it connected (systemd.exec(5)), and a child whose stderr was redirected elsewhere
 * inherits the variable all the same, so it must match the stream's own fstat.
 */
export function resolveLogFormat(requested: LogFormat, fd: number | undefined, env: NodeJS.ProcessEnv): Exclude<LogFormat, 'auto'> {
  if (requested !== 'auto') return requested;
  const journalStream = env.JOURNAL_STREAM;
  if (journalStream && fd !== undefined) {
    try {
      const stat = fstatSync(fd);
      if (journalStream === `${stat.dev}:${stat.ino}`) return 'journald';
    } catch {
      // A closed or unusual descriptor cannot be journald's stream: fall through to text.
      return 'text';
    }
  }
  return 'text';
}

export function createLogger(options: LoggerOptions): Logger {
  const stream = options.stream ?? process.stderr;
  const chosen = resolveLogFormat(options.format, stream.fd, options.env ?? process.env);
  const line = chosen === 'journald' ? journaldLine() : chosen === 'json' ? jsonLine() : textLine();
  return winston.createLogger({
    levels: LEVELS,
    level: options.level,
    format: winston.format.combine(errorFields(), redaction(), line),
    transports: [new BatchedStreamTransport({ stream, flushDelayMs: options.flushDelayMs ?? 0 })],
    exitOnError: false,
  });
}

/**
 * Ends the logger and waits until its transports have written everything, so the line that says why the process
 * exits is not lost (winston buffers through streams and `process.exit()` would cut them off).
 */
export async function closeLogger(logger: Logger, deadlineMs = 2000): Promise<void> {
  const finished = logger.transports.map(
    (transport) => new Promise<void>((resolve) => transport.once('finish', () => resolve())),
  );
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, deadlineMs);
  });
  logger.end();
  await Promise.race([Promise.all(finished), deadline]);
  clearTimeout(timer);
}
