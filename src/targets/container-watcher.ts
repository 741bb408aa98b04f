import type { TargetConfig } from '../config/schema.js';
import type { Logger } from '../observe/log/create-logger.js';
import { Field } from '../observe/log/fields.js';
import { targetsOfEvent } from './container-targets.js';
import type { ContainerEvent, DockerApi, EventSubscription } from '../platform/docker/docker-api.js';

export interface ContainerWatcherHandlers {
  /** A target's container started (first start, restart, recreation): HAProxy loaded the files afresh. */
  onStart(target: TargetConfig): void;
  /** A target's container stopped or died: mark it down, keep its jobs. */
  onDie(target: TargetConfig): void;
  /** Someone else sent a target's container a reload signal. */
  onReload(target: TargetConfig): void;
  /** A `docker.label` container was removed: it is no longer a target. */
  onRemoved(target: TargetConfig): void;
  /** The event stream was re-established after a break: events may have been missed. */
  onResubscribed(): void;
}

// Master-worker HAProxy reloads on SIGUSR2 and on SIGHUP (reference/docker.md §2.5); Docker reports the signal
// as a number or a name.
const RELOAD_SIGNALS = new Set(['1', '12', 'SIGHUP', 'SIGUSR2', 'HUP', 'USR2']);
const RESUBSCRIBE_MS = [1000, 2000, 5000, 10_000, 30_000];

/**
 * Docker events for the configured container targets (start, die, kill, destroy), turned into what the daemon does
 * about them. A broken event stream is reopened with backoff, and the daemon is told so that it can resync.
 */
export class ContainerWatcher {
  private subscription: EventSubscription | undefined;
  private stopped = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly docker: DockerApi,
    private readonly targets: readonly TargetConfig[],
    private readonly handlers: ContainerWatcherHandlers,
    private readonly isOwnSignal: (container: string) => boolean,
    private readonly log: Logger,
  ) {}

  /** Resolves once the event stream is open (or its first attempt failed, which is logged and retried). */
  async start(): Promise<void> {
    await this.subscribe(false);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.subscription?.close();
  }

  private async subscribe(again: boolean): Promise<void> {
    if (this.stopped) return;
    try {
      this.subscription = await this.docker.subscribe(
        (event) =>
          void this.handle(event).catch((error: unknown) =>
            this.log.error('cannot act on a Docker event; the periodic target check covers it', { [Field.container]: event.name, [Field.error]: error }),
          ),
        (error) => this.broken(error),
      );
      this.failures = 0;
      if (again) {
        this.log.info('Docker event stream open again; resyncing container targets', {});
        this.handlers.onResubscribed();
      }
    } catch (error) {
      this.broken(error as Error);
    }
  }

  private broken(error: Error): void {
    if (this.stopped) return;
    const delayMs = RESUBSCRIBE_MS[Math.min(this.failures, RESUBSCRIBE_MS.length - 1)] as number;
    // Once per outage as an error; the retries after it at debug, until the stream is open again.
    this.log.log(this.failures === 0 ? 'error' : 'debug', 'Docker events cannot be read; container starts and reloads are noticed by the periodic target check until they can', {
      [Field.error]: error,
      [Field.retryInMs]: delayMs,
    });
    this.failures += 1;
    this.retryTimer = setTimeout(() => void this.subscribe(true), delayMs);
  }

  private async handle(event: ContainerEvent): Promise<void> {
    const matched = targetsOfEvent(this.targets, event);
    if (matched.length === 0) return;
    if (event.action === 'kill' && event.signal !== undefined && RELOAD_SIGNALS.has(event.signal)) {
      if (this.isOwnSignal(event.name) || (await this.isStopSignal(event))) return;
      for (const target of matched) this.handlers.onReload(target);
      return;
    }
    for (const target of matched) {
      if (event.action === 'start') this.handlers.onStart(target);
      else if (event.action === 'die') this.handlers.onDie(target);
      else if (event.action === 'destroy' && target.name.includes('/')) this.handlers.onRemoved(target);
    }
  }

  // `docker stop` sends the container's stop signal, which is not a reload even when it is SIGHUP.
  private async isStopSignal(event: ContainerEvent): Promise<boolean> {
    try {
      const stopSignal = (await this.docker.inspect(event.id)).stopSignal ?? 'SIGTERM';
      return [stopSignal, stopSignal.replace(/^SIG/, '')].includes(event.signal as string) || (stopSignal === 'SIGHUP' && event.signal === '1') || (stopSignal === 'SIGUSR2' && event.signal === '12');
    } catch {
      // Gone already: a stop, not a reload.
      return true;
    }
  }
}
