import { dirname } from 'node:path';
import { certificateNameProblem } from '../core/certificate-name.js';
import type { Config, TargetConfig } from '../config/schema.js';
import { ContainerNotRunningError } from '../errors.js';
import type { Logger } from '../observe/log/create-logger.js';
import { Field } from '../observe/log/fields.js';
import { ExpiryWarnings } from '../observe/log/expiry-warnings.js';
import { logOutcome } from '../observe/log/log-outcome.js';
import { LoggedProgress, type StatusSink } from '../observe/log/progress.js';
import type { DaemonMetrics } from '../observe/metrics/daemon-metrics.js';
import { MetricsServer } from '../observe/metrics/metrics-server.js';
import { DaemonState } from '../observe/state/daemon-state.js';
import type { DockerApi } from '../platform/docker/docker-api.js';
import { ProcessLock } from '../platform/files/process-lock.js';
import type { ReloadFallback } from '../platform/docker/reload-fallback.js';
import type { SourceWatcher, WatchState } from '../sources/source.js';
import { containerTarget } from '../targets/container-targets.js';
import { ContainerWatcher } from '../targets/container-watcher.js';
import { AdaptiveReading } from './adaptive-reading.js';
import type { DeployEngine } from './deploy-engine.js';
import type { DeployResult } from './reconciler.js';
import { SettleTimers } from './settle-timers.js';
import { TargetScheduler, type JobPriority } from './target-scheduler.js';

/** The adapters a daemon runs on; built by the composition root. */
export interface DaemonParts {
  readonly engine: DeployEngine;
  /** Outlive a configuration reload: counters and histograms survive SIGHUP. */
  readonly metrics: DaemonMetrics;
  /** When a target is a container: its events (start, die, reload) drive resyncs. */
  readonly docker?: DockerApi;
  readonly fallback?: ReloadFallback;
  /** systemd's STATUS=, when hotcert runs under it. */
  readonly status?: StatusSink;
}

/** How long a container that just started or reloaded is polled for its (new) HAProxy before the periodic check takes over. */
const CONTAINER_SETTLE_MS = 15_000;
const CONTAINER_POLL_MS = 250;

/**
 * `hotcert run`: keeps every target serving what the source holds. It only turns events and timers into
 * reconcile requests: the source's watcher says a certificate may have changed, each target's scheduler runs
 * the engine's reconcile for it (so a slow or down target delays no other), and a full resync runs at start,
 * after a reload or restart of a target, when a target comes back, and on a slow timer. Target health is the
 * engine's; failed, held and not-ready certificates are retried by the schedulers on a backoff.
 */
export class Daemon {
  private readonly lock: ProcessLock;
  private readonly state: DaemonState;
  private readonly schedulers = new Map<string, TargetScheduler>();
  private readonly settle: SettleTimers;
  private readonly watcher: SourceWatcher;
  private readonly containers: ContainerWatcher | undefined;
  private readonly deletedReported = new Set<string>();
  private readonly refusedReported = new Map<string, string>();
  private readonly intervals: NodeJS.Timeout[] = [];
  private readonly progress: LoggedProgress;
  private readonly expiry: ExpiryWarnings;
  private resyncJobsLeft = 0;
  /** How each target's resync jobs read their certificate (see AdaptiveReading). */
  private readonly resyncReadings = new Map<string, AdaptiveReading>();
  private metricsServer: MetricsServer | undefined;
  private stopping: Promise<boolean> | undefined;

  constructor(
    private readonly config: Config,
    private readonly parts: DaemonParts,
    private readonly log: Logger,
    private readonly startReason = 'start',
  ) {
    this.lock = new ProcessLock(dirname(config.crtList.file));
    this.state = new DaemonState(config.state.file, (error) =>
      log.warn('cannot write the state file; hotcert status will not show the last deploys', { [Field.file]: config.state.file, [Field.error]: error }),
    );
    this.progress = new LoggedProgress(log, 'full resync', parts.status);
    this.expiry = new ExpiryWarnings(log, config.status);
    parts.metrics.setQueueDepths(() => this.queueDepths());
    for (const target of parts.engine.targets) this.track(target);
    const docker = parts.docker;
    this.containers = docker
      ? new ContainerWatcher(
          docker,
          config.targets.filter((target) => target.docker),
          {
            onStart: (target) => this.inBackground(target.name, this.containerStarted(target)),
            onDie: (target) => this.containerDied(target),
            onReload: (target) => this.inBackground(target.name, this.containerReloaded(target)),
            onRemoved: (target) => this.removeTarget(target.name),
            onResubscribed: () => {
              for (const target of this.parts.engine.targets.filter((candidate) => candidate.docker)) void this.resyncTarget(target.name);
              this.inBackground('', this.discoverContainers());
            },
          },
          (container) => parts.fallback?.sentRecently(container) ?? false,
          log,
        )
      : undefined;
    this.settle = new SettleTimers(config.watch.settleMs, config.watch.maxWaitMs, (name) => this.enqueueAll(name, 'event'));
    this.watcher = parts.engine.source.watcher({
      onChange: (name) => {
        const problem = certificateNameProblem(name);
        if (problem) this.logRefused(name, problem);
        else this.settle.touch(name);
      },
      onRescan: (reason) => void this.resyncAll(reason),
      onWatchState: (state) => this.watchStateChanged(state),
    });
  }

  /**
   * Takes the lock, checks every target, starts watching, and queues the first full sync; resolves once that sync
   * was attempted on every target that answered (a target that is down does not hold the start back).
   * @throws LockHeldError when another hotcert writes to these targets.
   */
  async start(): Promise<void> {
    await this.lock.acquire();
    await this.startMetrics();
    await this.watcher.start();
    await this.containers?.start();
    await this.discoverContainers();
    await Promise.all(this.parts.engine.targets.map((target) => this.checkTarget(target.name, false)));
    await this.resyncAll(this.startReason);
    this.intervals.push(setInterval(() => void this.resyncAll('periodic rescan'), this.config.watch.rescanIntervalMs));
    this.intervals.push(setInterval(() => void this.checkTargets(), this.config.watch.targetCheckIntervalMs));
    await this.fullSyncDrained();
    this.state.fullSyncAttempted();
  }

  /** Every certificate on every target, behind any fresh events. */
  async resyncAll(reason: string): Promise<void> {
    if (this.stopping) return;
    let listing;
    try {
      listing = await this.parts.engine.source.list();
    } catch (error) {
      this.log.error('cannot list the source\'s certificates', { source: this.parts.engine.source.kind, [Field.file]: this.parts.engine.source.location, [Field.error]: error });
      return;
    }
    for (const refused of listing.refused) this.logRefused(refused.name, refused.reason);
    this.log.info('full resync', { [Field.reason]: reason, lineages: listing.names.length });
    this.resyncJobsLeft = listing.names.length * this.schedulers.size;
    this.progress.start(listing.names.length);
    // Each pass learns afresh how its certificates are best read.
    this.resyncReadings.clear();
    for (const name of listing.names) this.enqueueAll(name, 'resync');
    if (reason !== this.startReason) void this.fullSyncDrained();
  }

  /** Queue depth per target, for status and metrics. */
  queueDepths(): Record<string, number> {
    return Object.fromEntries([...this.schedulers].map(([target, scheduler]) => [target, scheduler.depth]));
  }

  /** Stops watching and scheduling, lets running jobs finish or be cut at the deadline; idempotent. */
  stop(deadlineMs: number): Promise<boolean> {
    this.stopping ??= (async () => {
      for (const interval of this.intervals) clearInterval(interval);
      this.progress.finish();
      await this.metricsServer?.close();
      this.settle.clear();
      await this.watcher.stop();
      this.containers?.stop();
      const finished = await Promise.all([...this.schedulers.values()].map((scheduler) => scheduler.stop(deadlineMs)));
      this.parts.engine.closeConnections();
      await this.parts.engine.source.close();
      await this.state.flush();
      await this.lock.release();
      return finished.every(Boolean);
    })();
    return this.stopping;
  }

  // Never rejects: waits for the queues to drain after a full sync and notes whether everything ended in sync.
  private async fullSyncDrained(): Promise<void> {
    await Promise.all([...this.schedulers.values()].map((scheduler) => scheduler.idle()));
    this.progress.finish();
    const now = new Date();
    this.parts.metrics.fullSyncAttempted(now);
    const targetsUp = this.parts.engine.targets.every((target) => this.parts.engine.slot(target.name).health.state === 'up');
    if (this.state.allInSync() && targetsUp) this.parts.metrics.fullSyncSucceeded(now);
    else if (!this.stopping) this.log.warn('full resync finished: not everything is in sync (see the lines above, or hotcert status)', {});
  }

  private async startMetrics(): Promise<void> {
    if (this.config.metrics.listen === '') return;
    const server = new MetricsServer(this.parts.metrics, () => ({
      downTargets: this.parts.engine.targets.filter((target) => this.parts.engine.slot(target.name).health.state === 'down').map((target) => target.name),
      watch: this.watcher.state,
    }));
    try {
      const address = await server.listen(this.config.metrics.listen);
      this.metricsServer = server;
      this.log.info('metrics and /healthz listening', { address });
    } catch (error) {
      // Deploying certificates matters more than exposing metrics: hotcert goes on without them.
      this.log.error('cannot serve metrics; running without them', { address: this.config.metrics.listen, [Field.error]: error });
    }
  }

  private watchStateChanged(state: WatchState): void {
    this.parts.metrics.setWatching(this.parts.engine.source.kind, state.kind === 'watching');
    this.state.setWatch(state);
    if (state.kind === 'polling') {
      this.log.error(`${state.reason}; until then changes are found by looking at every certificate every ${state.pollMs / 1000} s, and the watches are retried`, {
        source: this.parts.engine.source.kind,
      });
    } else if (state.kind === 'watching') {
      this.log.info('watching the source for changes', { source: this.parts.engine.source.kind, watches: state.watches });
    }
  }

  // A name the source has but hotcert refuses (unsafe, a symlink): reported at once, and again only when the reason changes.
  private logRefused(name: string, reason: string): void {
    if (this.refusedReported.get(name) === reason) return;
    this.refusedReported.set(name, reason);
    this.log.error(`lineage refused: ${reason}`, { [Field.lineage]: name, source: this.parts.engine.source.kind });
  }

  private track(target: TargetConfig): void {
    this.schedulers.set(
      target.name,
      new TargetScheduler(target.name, (name, priority) => this.runJob(name, target.name, priority), this.log, this.config.watch.notReadyAlertMs),
    );
  }

  /** A container that started: a new member of a label target is added; every one is resynced once it answers. */
  private async containerStarted(target: TargetConfig): Promise<void> {
    if (this.stopping) return;
    if (this.parts.engine.addTarget(target)) {
      this.track(target);
      this.log.info('container target found', { [Field.target]: target.name, [Field.container]: target.docker?.container ?? '' });
    } else {
      this.log.info('target container started; resyncing it', { [Field.target]: target.name });
    }
    const slot = this.parts.engine.slot(target.name);
    // HAProxy in the new container loaded whatever the files held at its start, and its worker may have the same
    // Pid as before (a new PID namespace): resync it whatever `show info` says.
    slot.client.close();
    slot.health = { ...slot.health, state: 'down' };
    await this.pollUntil(target.name, () => slot.health.state === 'up');
  }

  /** Every running container of a label target that is not a target yet (events missed, or Docker was down). */
  private async discoverContainers(): Promise<void> {
    const docker = this.parts.docker;
    if (!docker) return;
    for (const group of this.config.targets.filter((target) => target.docker?.label !== undefined)) {
      let containers;
      try {
        containers = await docker.listByLabel(group.docker?.label as string);
      } catch (error) {
        this.log.error('cannot list the containers of a label target; retrying when Docker answers', { [Field.target]: group.name, [Field.error]: error });
        continue;
      }
      for (const container of containers) {
        const target = containerTarget(group, container.name);
        if (!this.schedulers.has(target.name)) this.inBackground(target.name, this.containerStarted(target));
      }
    }
  }

  // Work started from an event: whatever fails is logged; the periodic target check and rescan cover it.
  private inBackground(target: string, work: Promise<void>): void {
    work.catch((error: unknown) => this.log.error('cannot follow a container target\'s change', { [Field.target]: target, [Field.error]: error }));
  }

  private containerDied(target: TargetConfig): void {
    if (!this.schedulers.has(target.name)) return;
    const slot = this.parts.engine.slot(target.name);
    slot.client.close();
    const problem = new ContainerNotRunningError(`container ${target.docker?.container ?? ''} stopped`, { container: target.docker?.container ?? '' });
    slot.health = { state: 'down', pid: slot.health.pid, problem: problem.message, reported: true };
    slot.down = problem;
    this.log.error('target cannot be deployed to; retrying', { [Field.target]: target.name, [Field.error]: problem });
    this.targetDown(target.name, problem);
  }

  private async containerReloaded(target: TargetConfig): Promise<void> {
    if (!this.schedulers.has(target.name) || this.stopping) return;
    this.log.info('target container was sent a reload signal; waiting for its new worker', { [Field.target]: target.name });
    const slot = this.parts.engine.slot(target.name);
    const before = slot.health.pid;
    await this.pollUntil(target.name, () => slot.health.pid !== before && slot.health.state === 'up');
  }

  /** Checks a target every CONTAINER_POLL_MS (resyncing it on a change) until `done`, for at most CONTAINER_SETTLE_MS. */
  private async pollUntil(target: string, done: () => boolean): Promise<void> {
    const deadline = Date.now() + CONTAINER_SETTLE_MS;
    while (!this.stopping && this.schedulers.has(target) && Date.now() < deadline) {
      // HAProxy in a container that just started needs a second or so: not answering yet is not news.
      await this.checkTarget(target, true, Date.now() + CONTAINER_POLL_MS < deadline);
      if (done()) return;
      await new Promise((resolve) => setTimeout(resolve, CONTAINER_POLL_MS));
    }
  }

  private removeTarget(name: string): void {
    const scheduler = this.schedulers.get(name);
    if (!scheduler) return;
    this.log.info('container target removed', { [Field.target]: name });
    this.schedulers.delete(name);
    void scheduler.stop(0);
    this.parts.engine.removeTarget(name);
    this.parts.metrics.forgetTarget(name);
    this.resyncReadings.delete(name);
  }

  // Never rejects: a listing that fails is logged (the periodic rescan tries again).
  private async resyncTarget(target: string): Promise<void> {
    try {
      const { names } = await this.parts.engine.source.list();
      this.resyncReadings.delete(target);
      for (const name of names) this.schedulers.get(target)?.enqueue(name, 'resync');
    } catch (error) {
      this.log.error('cannot list the source\'s certificates', { source: this.parts.engine.source.kind, [Field.error]: error });
    }
  }

  private enqueueAll(name: string, priority: 'event' | 'resync'): void {
    for (const scheduler of this.schedulers.values()) scheduler.enqueue(name, priority);
  }

  private async runJob(name: string, target: string, priority: JobPriority): Promise<DeployResult | undefined> {
    let outcome: DeployResult | undefined;
    try {
      // A lineage an event names has most likely changed: the quick look would only find that out before the full
      // read. A resync passes over every lineage, usually nearly all unchanged (the quick look spares their full
      // read), unless Certbot renewed many while hotcert was stopped: its reading follows what it finds.
      const reading = priority === 'resync' ? this.resyncReading(target) : undefined;
      outcome = await this.parts.engine.deployOne(name, target, reading?.next() ?? 'full');
      if (outcome) reading?.observe([outcome]);
      if (outcome === undefined) await this.deleted(name, target);
      else this.deletedReported.delete(`${name}\n${target}`);
    } finally {
      if (this.resyncJobsLeft > 0) {
        this.resyncJobsLeft -= 1;
        if (this.resyncJobsLeft % this.schedulers.size === 0) this.progress.done(1);
      }
    }
    if (outcome) {
      logOutcome(this.log, outcome);
      this.expiry.observe(outcome);
      this.state.record(outcome);
      this.parts.metrics.record(outcome);
    }
    return outcome;
  }

  private resyncReading(target: string): AdaptiveReading {
    let reading = this.resyncReadings.get(target);
    if (!reading) {
      reading = new AdaptiveReading();
      this.resyncReadings.set(target, reading);
    }
    return reading;
  }

  // certbot delete removes the conf and the live links first. Taking the certificate out of a running HAProxy is
  // an operator's decision: only with deploy.removeDeleted.
  private async deleted(name: string, target: string): Promise<void> {
    const key = `${name}\n${target}`;
    if (!this.config.deploy.removeDeleted) {
      if (!this.deletedReported.has(key)) {
        this.deletedReported.add(key);
        this.log.warn('lineage deleted from the source; HAProxy keeps serving its certificate (deploy.removeDeleted takes it out)', { [Field.lineage]: name, [Field.target]: target });
      }
      this.state.forget(name, target);
      this.parts.metrics.forgetLineage(name, target);
      return;
    }
    try {
      if (await this.parts.engine.removeFromTarget(name, target)) {
        this.log.info('certificate removed: its lineage was deleted from the source', { [Field.lineage]: name, [Field.target]: target });
      }
      this.state.forget(name, target);
      this.parts.metrics.forgetLineage(name, target);
    } catch (error) {
      this.log.error('cannot remove the certificate of a deleted lineage; it stays served', { [Field.lineage]: name, [Field.target]: target, [Field.error]: error });
    }
  }

  private async checkTargets(): Promise<void> {
    await Promise.all(this.parts.engine.targets.map((target) => this.checkTarget(target.name, true)));
  }

  // Never rejects: every problem is logged once per change of state.
  private async checkTarget(target: string, resyncOnChange: boolean, quiet = false): Promise<void> {
    if (!this.schedulers.has(target)) return;
    const { change, report, error } = await this.parts.engine.checkTarget(target, quiet);
    if (report) this.log.error('target cannot be deployed to; retrying', { [Field.target]: target, [Field.error]: error });
    else if (error && quiet) this.log.debug('target does not answer yet', { [Field.target]: target, [Field.error]: error });
    if (error) {
      this.targetDown(target, error);
      return;
    }
    if (change === 'none') return;
    this.schedulers.get(target)?.setDown(false);
    this.parts.metrics.setTargetUp(target, true);
    if (!resyncOnChange || change === 'up') return;
    this.log.info(change === 'came-back' ? 'target answers again; resyncing it' : 'target reloaded or restarted; resyncing it', { [Field.target]: target });
    await this.resyncTarget(target);
  }

  private targetDown(target: string, problem: Error): void {
    // With the reload fallback, jobs keep running while the runtime API is down: they deploy by reloading.
    this.schedulers.get(target)?.setDown(!this.parts.engine.usesFallback(target, problem));
    this.parts.metrics.setTargetUp(target, false);
  }
}
