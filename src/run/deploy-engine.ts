import type { CertIdentity } from '../core/cert-identity.js';
import { sameIdentity } from '../core/cert-identity.js';
import type { SourceFacts } from '../core/facts.js';
import { observeHealth, type HealthChange } from '../core/target-health.js';
import type { Config, LineageOptions, TargetConfig } from '../config/schema.js';
import { isUnreachable } from '../errors.js';
import type { HotcertFiles } from '../haproxy/hotcert-files.js';
import type { RuntimeClient } from '../haproxy/runtime-client.js';
import { preflightTarget } from '../haproxy/target-preflight.js';
import type { Clock } from '../haproxy/transaction-guard.js';
import type { Logger } from '../observe/log/create-logger.js';
import { Field } from '../observe/log/fields.js';
import { notServedError, type ReloadFallback } from '../platform/docker/reload-fallback.js';
import type { CertificateSource, QuickLook } from '../sources/source.js';
import type { FallbackEffects } from './apply-steps.js';
import { Reconciler, type CertificateRead, type CertificateReading, type DeployResult, type ReconcileOptions } from './reconciler.js';
import { TargetSlot } from './target-slot.js';

const NO_OPTIONS: LineageOptions = { sniFilters: [] };
const FALLBACK_POLL_MS = 250;

export interface EngineParts {
  readonly config: Config;
  readonly log: Logger;
  readonly source: CertificateSource;
  readonly files: HotcertFiles;
  readonly clientFor: (target: TargetConfig) => RuntimeClient;
  readonly clock: Clock;
  readonly fallback?: ReloadFallback;
}

/**
 * The engine behind `hotcert sync` and `hotcert run`: the targets it deploys to, each in its own slot, and the
 * reconciler that makes one target serve one certificate. Targets proceed independently; one certificate is read
 * once for all of them.
 */
export class DeployEngine {
  private slots: TargetSlot[] = [];
  private readonly reconciler: Reconciler;

  constructor(private readonly parts: EngineParts) {
    this.reconciler = new Reconciler({
      files: parts.files,
      lineageOptions: (name) => parts.config.lineages[name] ?? NO_OPTIONS,
      clockSkewMs: parts.config.deploy.clockSkewMs,
      now: () => parts.clock.now(),
      servedElsewhere: (name, identity, except) => this.servedElsewhere(name, identity, except),
    });
  }

  get source(): CertificateSource {
    return this.parts.source;
  }

  get targets(): TargetConfig[] {
    return this.slots.map((slot) => slot.target);
  }

  slot(name: string): TargetSlot {
    const slot = this.slots.find((candidate) => candidate.name === name);
    if (!slot) throw new Error(`no target named ${name}`);
    return slot;
  }

  /** A target to deploy to from now on (a container that appeared); false when it has one of that name already. */
  addTarget(target: TargetConfig): boolean {
    if (this.slots.some((slot) => slot.name === target.name)) return false;
    this.slots.push(new TargetSlot(target, this.parts.clientFor(target), this.parts.config.deploy.staleTransactionMs, this.parts.clock, this.parts.log));
    return true;
  }

  /** Stops deploying to a target (its container is gone) and closes its connection. */
  removeTarget(name: string): void {
    this.slots.find((slot) => slot.name === name)?.client.close();
    this.slots = this.slots.filter((slot) => slot.name !== name);
  }

  /** Closes every target's connection (the next request opens a new one). */
  closeConnections(): void {
    for (const slot of this.slots) slot.client.close();
  }

  /** One read of a certificate for every target: the cheap look and the full read, each once, when one needs it. */
  private read(name: string, reading: CertificateReading): CertificateRead {
    let full: Promise<SourceFacts> | undefined;
    let quick: { look: QuickLook | undefined } | undefined;
    const source = this.parts.source;
    return {
      name,
      reading,
      quick: () => (quick ??= { look: source.quickLook(name) }).look,
      source: () =>
        (full ??= source.read(name, new Date(this.parts.clock.now())).catch((error: unknown): SourceFacts => ({ kind: 'invalid', error: error as Error }))),
    };
  }

  /**
   * Checks targets before a run: which HAProxy process answers (to notice a reload during the run), and whether it
   * can be deployed to (level admin, the crt-list loaded, no `crt <dir>` on the bundles dir). A target that cannot
   * is marked down for the run, and logged once.
   */
  async preflight(slots: readonly TargetSlot[] = this.slots): Promise<void> {
    await Promise.all(
      slots.map(async (slot) => {
        const change = await this.checkTarget(slot.name);
        slot.processAtStart = slot.health.pid;
        // The error itself, not its text: whether the reload fallback applies depends on its kind (unreachable).
        slot.down = slot.health.state === 'down' ? (change.error ?? new Error(slot.health.problem)) : undefined;
        if (change.report) this.parts.log.error('target cannot be deployed to', { [Field.target]: slot.name, [Field.error]: change.error });
        if (slot.target.runtimeOnly) {
          this.parts.log.warn('target is runtime-only: HAProxy there cannot read hotcert\'s files, so every swap is lost at its next reload', { [Field.target]: slot.name });
        }
      }),
    );
  }

  /**
   * Asks a target which process serves and whether it can be deployed to, and folds the answer into its health:
   * cheap while nothing changes (one `show info` on a fresh connection); the full preflight when it comes back or
   * another process answers. Never throws.
   */
  async checkTarget(name: string, quiet = false): Promise<{ change: HealthChange; report: boolean; error?: Error }> {
    const slot = this.slot(name);
    let pid: number | undefined;
    let problem: Error | undefined;
    try {
      pid = (await slot.client.showInfo({ fresh: true })).pid;
    } catch (error) {
      problem = error as Error;
    }
    const changed = slot.health.state !== 'up' || slot.health.pid !== pid;
    if (!problem && changed) problem = await preflightTarget(slot.target, slot.client, this.parts.config.crtList.file);
    const observed = observeHealth(
      slot.health,
      problem ? (pid === undefined ? { kind: 'unreachable', problem: problem.message } : { kind: 'answered', pid, problem: problem.message }) : { kind: 'answered', pid: pid as number },
      quiet,
    );
    slot.health = observed.health;
    slot.down = problem;
    // A session opened before a reload still talks to the old worker, whose changes die with it.
    if (observed.change === 'reloaded' || observed.change === 'came-back') slot.client.close();
    return { change: observed.change, report: observed.report, ...(problem ? { error: problem } : {}) };
  }

  /** One certificate on the given targets (all by default); one outcome per target. Never throws. */
  async deployLineage(name: string, options: ReconcileOptions, reading: CertificateReading, slots: readonly TargetSlot[] = this.slots): Promise<DeployResult[]> {
    const read = this.read(name, reading);
    const results = await Promise.all(slots.map((slot) => this.deployTo(read, slot, options)));
    return results.filter((result): result is DeployResult => result !== undefined);
  }

  /** One certificate on one target: the daemon's job. @returns undefined when the source no longer has it. */
  deployOne(name: string, targetName: string, reading: CertificateReading): Promise<DeployResult | undefined> {
    return this.deployTo(this.read(name, reading), this.slot(targetName), { force: false, dryRun: false });
  }

  /** Takes a certificate the source no longer has out of one target. @returns false when HAProxy did not have it. */
  removeFromTarget(name: string, targetName: string): Promise<boolean> {
    return this.reconciler.remove(name, this.slot(targetName));
  }

  /** Targets whose HAProxy process changed since the run's preflight: the new worker loaded hotcert's files. */
  async reloadedTargets(): Promise<TargetSlot[]> {
    const reloaded: TargetSlot[] = [];
    for (const slot of this.slots) {
      if (slot.down || slot.processAtStart === undefined) continue;
      try {
        const info = await slot.client.showInfo({ fresh: true });
        if (info.pid !== slot.processAtStart) reloaded.push(slot);
      } catch (error) {
        this.parts.log.warn('target did not answer after the sync; a reload or restart there is not detected', { [Field.target]: slot.name, [Field.error]: error });
      }
    }
    return reloaded;
  }

  /** Whether a target has the reload fallback and the runtime API is what fails (never after HAProxy refused). */
  usesFallback(targetName: string, error: unknown): boolean {
    return this.parts.fallback !== undefined && this.slot(targetName).target.docker?.reloadFallback !== undefined && isUnreachable(error);
  }

  private async deployTo(read: CertificateRead, slot: TargetSlot, options: ReconcileOptions): Promise<DeployResult | undefined> {
    if (slot.down) {
      const unavailable: DeployResult = { lineage: read.name, target: slot.name, kind: 'failed', reason: `target unavailable: ${slot.down.message}`, error: slot.down, durationMs: 0 };
      if (options.dryRun || !this.usesFallback(slot.name, slot.down)) return unavailable;
      return this.reconciler.deployByReload(read, slot, this.fallbackEffects(slot));
    }
    const result = await this.reconciler.deploy(read, slot, options);
    if (result?.kind === 'failed' && isUnreachable(result.error)) {
      slot.down = result.error as Error;
      if (!options.dryRun && this.usesFallback(slot.name, result.error)) {
        this.parts.log.debug('runtime API cannot be used; trying the reload fallback', { [Field.target]: slot.name, [Field.lineage]: read.name, [Field.error]: result.error });
        return this.reconciler.deployByReload(read, slot, this.fallbackEffects(slot));
      }
    }
    return result;
  }

  private fallbackEffects(slot: TargetSlot): FallbackEffects & { servedLeafSha1(servername: string): Promise<string | undefined> } {
    const fallback = this.parts.fallback as ReloadFallback;
    const target = slot.target;
    let servername = '';
    return {
      servedLeafSha1: async (name) => {
        servername = name;
        return fallback.servedLeafSha1(target, name).catch(() => undefined);
      },
      reload: () => fallback.reload(target),
      awaitServed: async (leafSha1) => {
        const deadline = this.parts.clock.now() + (target.docker?.reloadFallback?.timeoutMs ?? 30_000);
        let last: string | Error = 'nothing';
        while (this.parts.clock.now() < deadline) {
          await this.parts.clock.sleep(FALLBACK_POLL_MS);
          try {
            last = await fallback.servedLeafSha1(target, servername);
            if (last === leafSha1) return;
          } catch (error) {
            last = error as Error;
          }
        }
        throw notServedError(target, servername, typeof last === 'string' ? `a leaf with SHA-1 ${last}` : last.message, leafSha1);
      },
    };
  }

  private servedElsewhere(name: string, identity: CertIdentity, except: TargetSlot): boolean {
    return this.slots.some((slot) => slot !== except && !slot.target.runtimeOnly && sameIdentity(slot.lastSeen.get(name), identity));
  }
}
