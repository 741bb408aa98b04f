import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isDeploy, isInSync, type Outcome } from '../../core/outcome.js';

/**
 * What `hotcert run` exposes to Prometheus. One registry per process (never prom-client's global one), made once
 * and kept across configuration reloads, so that counters and histograms survive SIGHUP. Certificate expiry is a
 * gauge per lineage and target, for alerts; liveness is /livez and readiness /healthz, kept apart from expiry.
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  private queueDepths: () => Record<string, number> = () => ({});
  private readonly notAfter = new Gauge({
    name: 'hotcert_certificate_not_after_seconds',
    help: 'Expiry (Unix time) of the certificate hotcert last found served, per lineage and target',
    labelNames: ['lineage', 'target'] as const,
    registers: [this.registry],
  });
  private readonly deploys = new Counter({
    name: 'hotcert_deploys_total',
    help: 'Deploys that changed what a target serves or hotcert\'s files, by outcome (deployed, added, reloaded)',
    labelNames: ['target', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly checks = new Counter({
    name: 'hotcert_checks_total',
    help: 'Reconciles that changed nothing, by outcome (unchanged, not-ready, held, failed)',
    labelNames: ['target', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'hotcert_deploy_duration_seconds',
    help: 'Time of deploy jobs that changed what a target serves',
    labelNames: ['target'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly inSync = new Gauge({
    name: 'hotcert_in_sync',
    help: '1 when the last reconcile of a lineage on a target ended with it served as the source holds it, else 0',
    labelNames: ['lineage', 'target'] as const,
    registers: [this.registry],
  });
  private readonly lastFullSync = new Gauge({
    name: 'hotcert_last_full_sync_timestamp_seconds',
    help: 'When the last full sync of every lineage on every target was attempted (Unix time)',
    registers: [this.registry],
  });
  private readonly lastSuccessfulSync = new Gauge({
    name: 'hotcert_last_successful_sync_timestamp_seconds',
    help: 'When a full sync last ended with every lineage on every target in sync (Unix time)',
    registers: [this.registry],
  });
  private readonly targetUp = new Gauge({
    name: 'hotcert_target_up',
    help: '1 when the target answers its runtime API and can be deployed to, else 0',
    labelNames: ['target'] as const,
    registers: [this.registry],
  });
  private readonly watching = new Gauge({
    name: 'hotcert_source_watching',
    help: '1 while the source is followed by file watches, 0 while it is polled (the kernel refused the watches)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  constructor(version: string) {
    // The standard process_* and nodejs_* names, which every Node.js dashboard and alert expects. prom-client samples
    // the event loop's delay with a timer every eventLoopMonitoringPrecision ms (monitorEventLoopDelay), 10 by
    // default: 100 wakeups a second cost an idle daemon 34 CPU-seconds an hour. Once a second still sees every
    // stall (a blocked loop delays that timer too) for 0.2.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 1000 });
    new Gauge({ name: 'hotcert_build_info', help: 'hotcert\'s version (always 1)', labelNames: ['version'] as const, registers: [this.registry] }).set({ version }, 1);
    const depths = (): Record<string, number> => this.queueDepths();
    new Gauge({
      name: 'hotcert_queue_depth',
      help: 'Lineage jobs waiting or running, per target',
      labelNames: ['target'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [target, depth] of Object.entries(depths())) this.set({ target }, depth);
      },
    });
  }

  /** The running daemon's queues (a reload brings a new daemon, the same metrics). */
  setQueueDepths(depths: () => Record<string, number>): void {
    this.queueDepths = depths;
  }

  record(outcome: Outcome): void {
    if (isDeploy(outcome.kind)) {
      this.deploys.inc({ target: outcome.target, outcome: outcome.kind });
      this.duration.observe({ target: outcome.target }, outcome.durationMs / 1000);
    } else {
      this.checks.inc({ target: outcome.target, outcome: outcome.kind });
    }
    this.inSync.set({ lineage: outcome.lineage, target: outcome.target }, isInSync(outcome.kind) ? 1 : 0);
    if (outcome.notAfter && isInSync(outcome.kind)) {
      this.notAfter.set({ lineage: outcome.lineage, target: outcome.target }, Math.floor(outcome.notAfter.getTime() / 1000));
    }
  }

  /** A lineage the source no longer has: its series end instead of freezing at their last value. */
  forgetLineage(lineage: string, target: string): void {
    this.notAfter.remove({ lineage, target });
    this.inSync.remove({ lineage, target });
  }

  fullSyncAttempted(at: Date): void {
    this.lastFullSync.set(Math.floor(at.getTime() / 1000));
  }

  fullSyncSucceeded(at: Date): void {
    this.lastSuccessfulSync.set(Math.floor(at.getTime() / 1000));
  }

  setTargetUp(target: string, up: boolean): void {
    this.targetUp.set({ target }, up ? 1 : 0);
  }

  setWatching(source: string, watching: boolean): void {
    this.watching.set({ source }, watching ? 1 : 0);
  }

  /** A target that is gone (a removed container): its series end instead of freezing at their last value. */
  forgetTarget(target: string): void {
    this.targetUp.remove({ target });
  }
}
