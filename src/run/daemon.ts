import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LineageAssessor } from '../sources/certbot/lineage-assessor.js';
import type { Config, TargetConfig } from '../config/schema.js';
import { ProcessLock } from '../platform/files/process-lock.js';
import type { SyncEngine } from './sync-engine.js';
import { ContainerNotRunningError, RuntimeTimeoutError, RuntimeTransportError } from '../errors.js';
import type { DockerApi } from '../platform/docker/docker-api.js';
import { containerTarget } from '../targets/container-targets.js';
import { ContainerWatcher } from '../targets/container-watcher.js';
import type { ReloadFallback } from '../platform/docker/reload-fallback.js';
import type { Logger } from '../observe/log/create-logger.js';
import { Field } from '../observe/log/fields.js';
import { DaemonMetrics } from '../observe/metrics/daemon-metrics.js';
import { MetricsServer } from '../observe/metrics/metrics-server.js';
import { TargetScheduler } from './target-scheduler.js';
import { DaemonState } from '../observe/state/daemon-state.js';
import { CertbotWatcher } from '../sources/certbot/certbot-watcher.js';
import { SettleTimers } from './settle-timers.js';

/** The adapters a daemon runs on; built by the composition root. */
export interface DaemonParts {
  readonly engine: SyncEngine;
  readonly assessor: LineageAssessor;
  /** When a target is a container: its events (start, die, reload) drive resyncs. */
  readonly docker?: DockerApi;
  readonly fallback?: ReloadFallback;
}

/** How long a container that just started or reloaded is polled for its (new) HAProxy before the periodic check takes over. */
const CONTAINER_SETTLE_MS = 15_000;
const CONTAINER_POLL_MS = 250;

interface TargetWatch {
  pid: number | undefined;
  down: boolean;
  /** The problem last logged for this target, so that a target that stays down is not logged every check. */
  lastProblem: string | undefined;
}

/**
 * `hotcert run`: keeps every target serving the current certificate of every lineage. Events from Certbot's
 * directory are hints that a lineage changed; each target has its own scheduler, so a slow or down target delays
 * no other; a full resync runs at start, after a reload or restart of a target, when a target comes back, and on
 * a slow timer.
 */
export class Daemon {
  private readonly lock: ProcessLock;
  private readonly state: DaemonState;
  private readonly schedulers = new Map<string, TargetScheduler>();
  private readonly targets = new Map<string, TargetWatch>();
  private readonly settle: SettleTimers;
  private readonly watcher: CertbotWatcher;
  private readonly containers: ContainerWatcher | undefined;
  private readonly deletedReported = new Set<string>();
  /** Lineages with events since Certbot last finished a run: looked at again when it does. */
  private readonly touchedDuringRun = new Set<string>();
  private readonly intervals: NodeJS.Timeout[] = [];
  private readonly metrics = new DaemonMetrics(() => this.queueDepths());
  private metricsServer: MetricsServer | undefined;
  private stopping: Promise<boolean> | undefined;

  constructor(
    private readonly config: Config,
    private readonly parts: DaemonParts,
    private readonly log: Logger,
  ) {
    this.lock = new ProcessLock(dirname(config.crtList.file));
    this.state = new DaemonState(config.state.file, (error) =>
      log.warn('cannot write the state file; hotcert status will not show the last deploys', { [Field.file]: config.state.file, [Field.error]: error }),
    );
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
    this.settle = new SettleTimers(config.watch.settleMs, config.watch.maxWaitMs, (lineage) => this.enqueueAll(lineage, 'event'));
    this.watcher = new CertbotWatcher(
      config.letsencrypt.dir,
      {
        onLineage: (lineage) => {
          this.touchedDuringRun.add(lineage);
          this.settle.touch(lineage);
        },
        // Certbot replaces renewal/<name>.conf a few ms before it flips the links; a lineage read between the two
        // looks unchanged. The end of Certbot's run is the signal to look again at every lineage it touched.
        onCertbotFinished: () => {
          for (const lineage of this.touchedDuringRun) this.enqueueAll(lineage, 'event');
          this.touchedDuringRun.clear();
        },
        onRescanNeeded: (reason) => void this.resyncAll(reason),
        onFatal: (error) => log.error('cannot watch Certbot\'s directory', { [Field.error]: error }),
      },
      log,
    );
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
    await Promise.all([...this.targets.keys()].map((target) => this.checkTarget(target, false)));
    await this.resyncAll('start');
    this.intervals.push(setInterval(() => void this.resyncAll('periodic rescan'), this.config.watch.rescanIntervalMs));
    this.intervals.push(setInterval(() => void this.checkTargets(), this.config.watch.targetCheckIntervalMs));
    await this.fullSyncDrained();
    this.state.fullSyncAttempted();
  }

  // Never rejects: waits for the queues to drain after a full sync and notes whether everything ended in sync.
  private async fullSyncDrained(): Promise<void> {
    await Promise.all([...this.schedulers.values()].map((scheduler) => scheduler.idle()));
    const now = new Date();
    this.metrics.fullSyncAttempted(now);
    if (this.state.allInSync() && [...this.targets.values()].every((watch) => !watch.down)) this.metrics.fullSyncSucceeded(now);
  }

  private async startMetrics(): Promise<void> {
    if (this.config.metrics.listen === '') return;
    const server = new MetricsServer(this.metrics, () => ({
      downTargets: [...this.targets].filter(([, watch]) => watch.down).map(([name]) => name),
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

  /** Every lineage on every target, behind any fresh events. */
  async resyncAll(reason: string): Promise<void> {
    if (this.stopping) return;
    let listing;
    try {
      listing = await this.parts.engine.listLineages();
    } catch (error) {
      this.log.error('cannot list Certbot\'s lineages', { [Field.file]: join(this.config.letsencrypt.dir, 'live'), [Field.error]: error });
      return;
    }
    for (const name of listing.unsafeNames) {
      this.log.error('lineage refused: its name has characters hotcert does not put into an HAProxy command (allowed: letters, digits, ".", "_", "-")', {
        [Field.lineage]: name,
      });
    }
    this.log.info('full resync', { [Field.reason]: reason, lineages: listing.names.length });
    for (const name of listing.names) this.enqueueAll(name, 'resync');
    if (reason !== 'start') void this.fullSyncDrained();
  }

  /** Queue depth per target, for status and metrics. */
  queueDepths(): Record<string, number> {
    return Object.fromEntries([...this.schedulers].map(([target, scheduler]) => [target, scheduler.depth]));
  }

  /** Stops watching and scheduling, lets running jobs finish or be cut at the deadline; idempotent. */
  stop(deadlineMs: number): Promise<boolean> {
    this.stopping ??= (async () => {
      for (const interval of this.intervals) clearInterval(interval);
      await this.metricsServer?.close();
      this.settle.clear();
      await this.watcher.stop();
      this.containers?.stop();
      const finished = await Promise.all([...this.schedulers.values()].map((scheduler) => scheduler.stop(deadlineMs)));
      this.parts.engine.closeConnections();
      await this.parts.assessor.close();
      await this.state.flush();
      await this.lock.release();
      return finished.every(Boolean);
    })();
    return this.stopping;
  }

  private track(target: TargetConfig): void {
    this.schedulers.set(
      target.name,
      new TargetScheduler(target.name, (lineage) => this.runJob(lineage, target.name), this.log, this.config.watch.notReadyAlertMs),
    );
    this.targets.set(target.name, { pid: undefined, down: true, lastProblem: undefined });
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
    const watch = this.targets.get(target.name) as TargetWatch;
    // HAProxy in the new container loaded whatever the files held at its start, and its worker may have the same
    // Pid as before (a new PID namespace): resync it whatever `show info` says.
    this.parts.engine.dropSession(target.name);
    watch.down = true;
    await this.pollUntil(target.name, () => !watch.down);
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
        if (!this.targets.has(target.name)) this.inBackground(target.name, this.containerStarted(target));
      }
    }
  }

  // Work started from an event: whatever fails is logged; the periodic target check and rescan cover it.
  private inBackground(target: string, work: Promise<void>): void {
    work.catch((error: unknown) => this.log.error('cannot follow a container target\'s change', { [Field.target]: target, [Field.error]: error }));
  }

  private containerDied(target: TargetConfig): void {
    const watch = this.targets.get(target.name);
    if (!watch) return;
    this.parts.engine.dropSession(target.name);
    this.markDown(target.name, watch, new ContainerNotRunningError(`container ${target.docker?.container ?? ''} stopped`, { container: target.docker?.container ?? '' }));
  }

  private async containerReloaded(target: TargetConfig): Promise<void> {
    const watch = this.targets.get(target.name);
    if (!watch || this.stopping) return;
    this.log.info('target container was sent a reload signal; waiting for its new worker', { [Field.target]: target.name });
    const before = watch.pid;
    await this.pollUntil(target.name, () => watch.pid !== before && !watch.down);
  }

  /** Checks a target every CONTAINER_POLL_MS (resyncing it on a change) until `done`, for at most CONTAINER_SETTLE_MS. */
  private async pollUntil(target: string, done: () => boolean): Promise<void> {
    const deadline = Date.now() + CONTAINER_SETTLE_MS;
    while (!this.stopping && this.targets.has(target) && Date.now() < deadline) {
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
    this.targets.delete(name);
    void scheduler.stop(0);
    this.parts.engine.removeTarget(name);
    this.metrics.forgetTarget(name);
  }

  // Never rejects: a listing that fails is logged (the periodic rescan tries again).
  private async resyncTarget(target: string): Promise<void> {
    try {
      for (const name of (await this.parts.engine.listLineages()).names) this.schedulers.get(target)?.enqueue(name, 'resync');
    } catch (error) {
      this.log.error('cannot list Certbot\'s lineages', { [Field.file]: join(this.config.letsencrypt.dir, 'live'), [Field.error]: error });
    }
  }

  private enqueueAll(lineage: string, priority: 'event' | 'resync'): void {
    for (const scheduler of this.schedulers.values()) scheduler.enqueue(lineage, priority);
  }

  private async runJob(lineage: string, target: string) {
    if (!existsSync(join(this.config.letsencrypt.dir, 'live', lineage))) {
      // certbot delete removes the conf and the live links first. Taking the certificate out of a running HAProxy
      // is an operator's decision: only with deploy.removeDeleted.
      if (this.config.deploy.removeDeleted) {
        try {
          if (await this.parts.engine.removeLineageFromTarget(lineage, target)) {
            this.log.info('certificate removed: its lineage was deleted by Certbot', { [Field.lineage]: lineage, [Field.target]: target });
          }
        } catch (error) {
          this.log.error('cannot remove the certificate of a deleted lineage; it stays served', { [Field.lineage]: lineage, [Field.target]: target, [Field.error]: error });
        }
      } else if (!this.deletedReported.has(`${lineage}\n${target}`)) {
        this.deletedReported.add(`${lineage}\n${target}`);
        this.log.warn('lineage deleted by Certbot; HAProxy keeps serving its certificate (deploy.removeDeleted takes it out)', { [Field.lineage]: lineage, [Field.target]: target });
      }
      return undefined;
    }
    this.deletedReported.delete(`${lineage}\n${target}`);
    const outcome = await this.parts.engine.syncLineageOnTarget(lineage, target);
    this.state.record(outcome);
    this.metrics.record(outcome);
    return outcome;
  }

  private async checkTargets(): Promise<void> {
    await Promise.all([...this.targets.keys()].map((target) => this.checkTarget(target, true)));
  }

  // Never rejects: every problem is logged once per change of state. Cheap while nothing changes (one `show info`
  // on a fresh connection); the full preflight runs when the target comes back or another process serves it.
  private async checkTarget(target: string, resyncOnChange: boolean, quiet = false): Promise<void> {
    const watch = this.targets.get(target);
    if (!watch) return;
    let pid: number | undefined;
    let problem: Error | undefined;
    try {
      pid = await this.parts.engine.targetProcess(target);
    } catch (error) {
      problem = error as Error;
    }
    const changed = watch.down || watch.pid !== pid;
    if (!problem && changed) problem = await this.parts.engine.checkTargetReady(target);
    if (problem) {
      this.markDown(target, watch, problem, quiet);
      return;
    }
    if (!changed) return;
    const cameBack = watch.down;
    const reloaded = watch.pid !== undefined && watch.pid !== pid;
    watch.pid = pid;
    watch.down = false;
    watch.lastProblem = undefined;
    (this.schedulers.get(target) as TargetScheduler).setDown(false);
    this.metrics.setTargetUp(target, true);
    if (reloaded) this.parts.engine.dropSession(target);
    if (!resyncOnChange) return;
    this.log.info(cameBack ? 'target answers again; resyncing it' : 'target reloaded or restarted; resyncing it', { [Field.target]: target });
    await this.resyncTarget(target);
  }

  private markDown(target: string, watch: TargetWatch, problem: Error, quiet = false): void {
    if (!watch.down || watch.lastProblem !== problem.message) {
      this.log.log(quiet ? 'debug' : 'error', 'target cannot be deployed to; retrying', { [Field.target]: target, [Field.error]: problem });
    }
    watch.down = true;
    // A problem seen quietly is not remembered as logged: if it lasts, the next check logs it.
    watch.lastProblem = quiet ? undefined : problem.message;
    // With the reload fallback, jobs keep running while the runtime API is down: they deploy by reloading.
    const fallback =
      (problem instanceof RuntimeTransportError || problem instanceof RuntimeTimeoutError) &&
      this.parts.fallback !== undefined &&
      this.parts.engine.targets.find((candidate) => candidate.name === target)?.docker?.reloadFallback !== undefined;
    this.schedulers.get(target)?.setDown(!fallback);
    this.metrics.setTargetUp(target, false);
  }
}
