import type { Logger } from './create-logger.js';

/** Where progress goes besides the log: systemd's STATUS= (sd_notify), for `systemctl status`. */
export interface StatusSink {
  status(text: string): void;
}

export interface ProgressReporter {
  start(total: number): void;
  done(count: number): void;
  finish(): void;
}

/**
 * Progress of a long sync or resync: every `everyMs` a line `N/M done, rate, ETA` in the log and the same text as
 * the service's status. Below `minTotal` certificates a pass is short and says nothing.
 */
export class LoggedProgress implements ProgressReporter {
  private total = 0;
  private completed = 0;
  private startedMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly what: string,
    private readonly sink: StatusSink | undefined,
    private readonly everyMs = 5000,
    private readonly minTotal = 100,
  ) {}

  start(total: number): void {
    this.total = total;
    this.completed = 0;
    this.startedMs = Date.now();
    clearInterval(this.timer);
    if (total < this.minTotal) return;
    this.log.info(`${this.what}: starting`, { certificates: total });
    this.sink?.status(`${this.what}: 0/${total}`);
    this.timer = setInterval(() => this.report(), this.everyMs);
    this.timer.unref();
  }

  done(count: number): void {
    this.completed += count;
  }

  finish(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private report(): void {
    const elapsedSec = (Date.now() - this.startedMs) / 1000;
    const rate = elapsedSec > 0 ? this.completed / elapsedSec : 0;
    const etaSec = rate > 0 ? Math.ceil((this.total - this.completed) / rate) : undefined;
    const text = `${this.completed}/${this.total} done, ${rate.toFixed(0)}/s${etaSec === undefined ? '' : `, ETA ${etaSec} s`}`;
    this.log.info(`${this.what}: ${text}`, { done: this.completed, certificates: this.total, rate_per_s: Number(rate.toFixed(1)), ...(etaSec === undefined ? {} : { eta_s: etaSec }) });
    this.sink?.status(`${this.what}: ${text}`);
  }
}

/** For passes nobody watches (tests of parts, a handful of certificates). */
export const SILENT_PROGRESS: ProgressReporter = { start: () => undefined, done: () => undefined, finish: () => undefined };
