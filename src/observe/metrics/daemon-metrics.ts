import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isDeploy, isInSync, type Outcome } from '../../core/outcome.js';

/**
 * What `hotcert run` exposes to Prometheus. One registry per daemon (never prom-client's global one). Certificate
 * expiry is a gauge per lineage and target, for alerts; liveness is /healthz, kept apart from expiry.
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly notAfter = new Gauge({
    name: 'hotcert_certificate_not_after_seconds',
    help: 'Expiry (Unix time) of the certificate hotcert last found served, per lineage and target',
    labelNames: ['lineage', 'target'] as const,
    registers: [this.registry],
  });
  private readonly deploys = new Counter({
    name: 'hotcert_deploys_total',
    help: 'Deploy jobs by outcome (deployed, added, unchanged, not-ready, held, failed)',
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

  constructor(queueDepths: () => Record<string, number>) {
    new Gauge({
      name: 'hotcert_queue_depth',
      help: 'Lineage jobs waiting or running, per target',
      labelNames: ['target'] as const,
      registers: [this.registry],
      collect() {
        for (const [target, depth] of Object.entries(queueDepths())) this.set({ target }, depth);
      },
    });
  }

  record(outcome: Outcome): void {
    this.deploys.inc({ target: outcome.target, outcome: outcome.kind });
    if (isDeploy(outcome.kind)) {
      this.duration.observe({ target: outcome.target }, outcome.durationMs / 1000);
    }
    if (outcome.notAfter && isInSync(outcome.kind)) {
      this.notAfter.set({ lineage: outcome.lineage, target: outcome.target }, Math.floor(outcome.notAfter.getTime() / 1000));
    }
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

  /** A target that is gone (a removed container): its series end instead of freezing at their last value. */
  forgetTarget(target: string): void {
    this.targetUp.remove({ target });
  }
}
