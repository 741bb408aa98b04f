import { writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import TransportStream from 'winston-transport';

// The rendered line winston's formats leave on a log entry (triple-beam's MESSAGE, a registered symbol).
const MESSAGE = Symbol.for('message');

export interface BatchedStreamOptions {
  readonly stream: Writable & { fd?: number };
  /** How long a line may wait for others to share its write; 0 writes each line at once. */
  readonly flushDelayMs: number;
}

/**
 * Writes log lines to a stream, the lines of a burst in one write. A bulk sync logs a line per lineage, thousands a
 * second: written one by one to journald's stream socket (or a pipe), every line is a system call that wakes the
 * reader, and on two cores that reader takes the core HAProxy needs for the commits. Errors and warnings are
 * written at once, with whatever waits before them; what waits when the process exits is written synchronously.
 */
export class BatchedStreamTransport extends TransportStream {
  private readonly stream: Writable & { fd?: number };
  private readonly flushDelayMs: number;
  private waiting: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly flushAtExit = (): void => this.flushSync();

  constructor(options: BatchedStreamOptions) {
    super();
    this.stream = options.stream;
    this.flushDelayMs = options.flushDelayMs;
    if (this.flushDelayMs > 0) process.on('exit', this.flushAtExit);
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    this.waiting.push(`${String(info[MESSAGE])}\n`);
    if (this.flushDelayMs <= 0 || info.level === 'error' || info.level === 'warn') this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushDelayMs);
    next();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flush();
    process.off('exit', this.flushAtExit);
    callback();
  }

  private flush(): void {
    const text = this.takeWaiting();
    if (text !== undefined) this.stream.write(text);
  }

  // At exit the event loop is gone: a stream's own write may never happen, a write(2) to its descriptor does.
  private flushSync(): void {
    const text = this.takeWaiting();
    if (text === undefined) return;
    if (this.stream.fd === undefined) {
      this.stream.write(text);
      return;
    }
    try {
      writeSync(this.stream.fd, text);
    } catch {
      // The log's own descriptor failed while the process exits: there is nowhere left to say so.
    }
  }

  private takeWaiting(): string | undefined {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.waiting.length === 0) return undefined;
    const text = this.waiting.join('');
    this.waiting = [];
    return text;
  }
}
