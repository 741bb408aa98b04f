import PQueue from 'p-queue';
import type { DeployResult } from './reconciler.js';
import type { Logger } from '../observe/log/create-logger.js';
import { Field } from '../observe/log/fields.js';
import { realTimers, type TimerApi } from './settle-timers.js';
import { retryAfter } from '../core/retry-policy.js';

/** Why a job runs: `event`, something says the lineage changed (the watcher, a retry); `resync`, a pass over all. */
export type JobPriority = 'event' | 'resync';

/** Runs one lineage on this scheduler's target; never throws. `undefined`: nothing to do any more (deleted). */
export type JobRunner = (lineage: string, priority: JobPriority) => Promise<DeployResult | undefined>;

interface RetryEntry {
  attempt: number;
  handle: unknown;
  firstNotReadyAt?: number;
  alerted: boolean;
}

// Jobs admitted at once per target. The engine's slot still runs one runtime command at a time; more jobs in flight
// let lineages be read, checked and written while the slot works, and let reads share a round trip.
const JOBS_IN_FLIGHT = 16;

/**
 * One target's queue of lineage jobs. At most one pending job per lineage (an event for a queued lineage changes
 * nothing: the job reads the lineage when it runs; an event during its run queues one more run); fresh events go
 * before full resyncs; failures and half-written lineages are retried with capped backoff, never dropped; while the
 * target is down, jobs wait for the resync that follows its return.
 */
export class TargetScheduler {
  private readonly queue = new PQueue({ concurrency: JOBS_IN_FLIGHT });
  private readonly queued = new Map<string, JobPriority>();
  private readonly running = new Set<string>();
  private readonly rerun = new Set<string>();
  private readonly retries = new Map<string, RetryEntry>();
  private down = false;
  private stopped = false;

  constructor(
    readonly target: string,
    private readonly runJob: JobRunner,
    private readonly log: Logger,
    private readonly notReadyAlertMs: number,
    private readonly timers: TimerApi = realTimers,
  ) {}

  enqueue(lineage: string, priority: JobPriority): void {
    if (this.stopped) return;
    if (this.running.has(lineage)) {
      this.rerun.add(lineage);
      return;
    }
    const already = this.queued.get(lineage);
    if (already !== undefined) {
      if (already === 'resync' && priority === 'event') {
        this.queued.set(lineage, 'event');
        this.queue.setPriority(lineage, 1);
      }
      return;
    }
    this.queued.set(lineage, priority);
    void this.queue.add(() => this.run(lineage), { priority: priority === 'event' ? 1 : 0, id: lineage });
  }

  /** While down, jobs are not run: the target's return brings a full resync. */
  setDown(down: boolean): void {
    this.down = down;
  }

  /** Jobs waiting or running, for metrics and status. */
  get depth(): number {
    return this.queued.size + this.running.size;
  }

  /** Resolves when nothing is queued or running (for tests and the first full sync). */
  async idle(): Promise<void> {
    await this.queue.onIdle();
  }

  /** Stops taking jobs, drops what is queued and waits up to `deadlineMs` for the running ones. */
  async stop(deadlineMs: number): Promise<boolean> {
    this.stopped = true;
    for (const entry of this.retries.values()) this.timers.clearTimeout(entry.handle);
    this.retries.clear();
    this.queue.clear();
    this.queued.clear();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      this.queue.onIdle().then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    return finished;
  }

  // Never rejects: the runner never throws, and this only bookkeeps around it.
  private async run(lineage: string): Promise<void> {
    // As queued by the last enqueue: a resync an event came for runs as the event.
    const priority = this.queued.get(lineage) ?? 'event';
    this.queued.delete(lineage);
    if (this.down || this.stopped) return;
    this.running.add(lineage);
    let outcome: DeployResult | undefined;
    try {
      outcome = await this.runJob(lineage, priority);
    } finally {
      this.running.delete(lineage);
    }
    if (!this.stopped) this.afterRun(lineage, outcome);
    if (this.rerun.delete(lineage)) this.enqueue(lineage, 'event');
  }

  private afterRun(lineage: string, outcome: DeployResult | undefined): void {
    const previous = this.retries.get(lineage);
    if (previous) this.timers.clearTimeout(previous.handle);
    if (!outcome) {
      this.retries.delete(lineage);
      return;
    }
    const attempt = (previous?.attempt ?? 0) + 1;
    const decision = retryAfter(outcome.kind, { attempt });
    if (decision.kind === 'done') {
      this.retries.delete(lineage);
      return;
    }
    const now = this.timers.now();
    const entry: RetryEntry = { attempt, handle: undefined, alerted: previous?.alerted ?? false };
    if (outcome.kind === 'not-ready') {
      entry.firstNotReadyAt = previous?.firstNotReadyAt ?? now;
      if (!entry.alerted && now - entry.firstNotReadyAt >= this.notReadyAlertMs) {
        entry.alerted = true;
        this.log.error('lineage still not ready; an operator should look (retrying)', {
          [Field.lineage]: lineage,
          [Field.target]: this.target,
          [Field.reason]: outcome.reason,
          not_ready_ms: now - entry.firstNotReadyAt,
        });
      }
    }
    this.log.debug('retrying later', { [Field.lineage]: lineage, [Field.target]: this.target, [Field.attempt]: attempt, [Field.retryInMs]: decision.delayMs });
    entry.handle = this.timers.setTimeout(() => this.enqueue(lineage, 'event'), decision.delayMs);
    this.retries.set(lineage, entry);
  }
}
