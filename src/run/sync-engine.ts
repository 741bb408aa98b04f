import { join } from 'node:path';
import PQueue from 'p-queue';
import { listLineages } from '../sources/certbot/list-lineages.js';
import { quickLook } from '../sources/certbot/quick-look.js';
import type { LineageAssessor } from '../sources/certbot/lineage-assessor.js';
import { BundleFiles } from '../haproxy/bundle-files.js';
import { resolveOwnership } from '../platform/files/resolve-ownership.js';
import type { Config, LineageOptions, TargetConfig } from '../config/schema.js';
import { LineageInvalidError, RuntimeTimeoutError, RuntimeTransportError } from '../errors.js';
import { CrtListStore } from '../haproxy/crt-list-store.js';
import type { RuntimeClient } from '../haproxy/runtime-client.js';
import type { Logger } from '../observe/log/create-logger.js';
import { Field } from '../observe/log/fields.js';
import { deployToTarget, type DeployOptions, type DeployResult, type PreparedLineage, type TargetContext } from './deploy-to-target.js';
import { fallbackDeploy } from './fallback-deploy.js';
import { logOutcome } from '../observe/log/log-outcome.js';
import type { ReloadFallback } from '../platform/docker/reload-fallback.js';
import { ServedStateLoader } from './served-state-loader.js';
import { preflightTarget } from '../haproxy/target-preflight.js';
import { TransactionGuard, systemClock, type Clock } from '../haproxy/transaction-guard.js';

function isUnreachable(error: unknown): boolean {
  return error instanceof RuntimeTransportError || error instanceof RuntimeTimeoutError;
}

export interface SyncReport {
  readonly outcomes: readonly DeployResult[];
  readonly lineages: number;
  readonly durationMs: number;
}

/** A target as the engine tracks it during a run: down (and why), and which HAProxy process answered. */
type EngineTargetContext = TargetContext & { down?: Error; processId?: number };

const NO_OPTIONS: LineageOptions = { sniFilters: [] };

// Lineages prepared (read from disk, checked, bundled) ahead of the targets' serial slots, so disk work overlaps
// HAProxy's commits, while memory stays bounded.
const LINEAGES_IN_FLIGHT = 16;

/**
 * The engine: makes every target serve what Certbot's live dir holds. `hotcert sync` runs it once; the daemon drives
 * the same `syncLineages` from its watcher. Each target has one serial slot (HAProxy has one certificate transaction
 * per process); different targets proceed independently.
 */
export class SyncEngine {
  private contexts: EngineTargetContext[] = [];
  private readonly crtList: CrtListStore;
  private readonly committedBundles = new Map<string, string>();

  private constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly clientFor: (target: TargetConfig) => RuntimeClient,
    private readonly bundles: BundleFiles,
    private readonly assessor: LineageAssessor,
    private readonly clock: Clock,
    private readonly fallback: ReloadFallback | undefined,
  ) {
    this.crtList = new CrtListStore(config.crtList.file);
  }

  /** An engine for `targets` (the configured ones, with label targets expanded into their containers). */
  static async create(
    config: Config,
    log: Logger,
    targets: readonly TargetConfig[],
    clientFor: (target: TargetConfig) => RuntimeClient,
    assessor: LineageAssessor,
    clock: Clock = systemClock,
    fallback?: ReloadFallback,
  ): Promise<SyncEngine> {
    const bundles = new BundleFiles(config.bundles.dir, await resolveOwnership(config.bundles));
    const engine = new SyncEngine(config, log, clientFor, bundles, assessor, clock, fallback);
    for (const target of targets) engine.addTarget(target);
    return engine;
  }

  /** The targets it deploys to now. */
  get targets(): TargetConfig[] {
    return this.contexts.map((context) => context.target);
  }

  /** A target to deploy to from now on (a container that appeared); false when it has one of that name already. */
  addTarget(target: TargetConfig): boolean {
    if (this.contexts.some((context) => context.target.name === target.name)) return false;
    const client = this.clientFor(target);
    const slot = new PQueue({ concurrency: 1 });
    const inSlot = <T>(work: () => Promise<T>): Promise<T> => slot.add(work);
    this.contexts.push({
      target,
      client,
      guard: new TransactionGuard(client, this.config.deploy.staleTransactionMs, this.clock, this.log),
      bundles: this.bundles,
      crtList: this.crtList,
      committedBundles: this.committedBundles,
      lineageOptions: (lineage: string) => this.config.lineages[lineage] ?? NO_OPTIONS,
      inSlot,
      servedState: new ServedStateLoader(client, inSlot),
    });
    return true;
  }

  /** Stops deploying to a target (its container is gone) and closes its connection. */
  removeTarget(name: string): void {
    const context = this.contexts.find((candidate) => candidate.target.name === name);
    context?.client.close();
    this.contexts = this.contexts.filter((candidate) => candidate !== context);
  }

  /** Closes every target's connection (the next request opens a new one). */
  closeConnections(): void {
    for (const context of this.contexts) context.client.close();
  }

  /** Every lineage under live/, on every target. */
  async syncAll(options: DeployOptions): Promise<SyncReport> {
    const startedMs = this.clock.now();
    const listing = await listLineages(this.config.letsencrypt.dir);
    if (listing.liveDirMissing) {
      this.log.warn('Certbot\'s live directory does not exist yet: nothing to deploy', { [Field.file]: `${this.config.letsencrypt.dir}/live` });
    }
    const refused: DeployResult[] = listing.unsafeNames.flatMap((name) =>
      this.contexts.map((context) => {
        const error = new LineageInvalidError(
          `lineage "${name}": its name has characters hotcert does not put into an HAProxy command (allowed: letters, digits, ".", "_", "-"); rename it with certbot --cert-name`,
          { lineage: name },
        );
        return { lineage: name, target: context.target.name, kind: 'failed' as const, reason: error.message, error, durationMs: 0 };
      }),
    );
    for (const outcome of refused) logOutcome(this.log, outcome);
    let outcomes = await this.syncLineages(listing.names, options);
    // A reload during the run: the new worker loaded the bundles on disk when it started, and commits that went to
    // the old worker died with it. Every lineage is looked at again on a target whose process changed.
    for (let round = 0; round < 3 && !options.dryRun; round += 1) {
      const reloaded = await this.reloadedTargets();
      if (reloaded.length === 0) break;
      for (const context of this.contexts.filter((candidate) => reloaded.includes(candidate.target.name))) {
        this.log.warn('target reloaded during the sync; syncing it again', { [Field.target]: context.target.name });
        // A session opened before the reload still talks to the old worker, which holds what the new one may lack.
        context.client.close();
      }
      const again = await this.syncLineages(listing.names, options, new Set(reloaded));
      outcomes = [...outcomes.filter((outcome) => !reloaded.includes(outcome.target)), ...again];
    }
    return { outcomes: [...refused, ...outcomes], lineages: listing.names.length + listing.unsafeNames.length, durationMs: this.clock.now() - startedMs };
  }

  /** The named lineages on every target (or on `only` those); one outcome per lineage and target, each logged. */
  async syncLineages(names: readonly string[], options: DeployOptions, only?: ReadonlySet<string>): Promise<DeployResult[]> {
    const contexts = only ? this.contexts.filter((context) => only.has(context.target.name)) : this.contexts;
    await this.preflight(contexts);
    const inFlight = new PQueue({ concurrency: LINEAGES_IN_FLIGHT });
    const results: DeployResult[][] = await Promise.all(
      names.map((name) => inFlight.add(() => this.syncOne(name, options, contexts))),
    );
    return results.flat();
  }

  /** One lineage on one target: the daemon's job. Never throws; logs its outcome. */
  async syncLineageOnTarget(name: string, targetName: string): Promise<DeployResult> {
    const context = this.contextOf(targetName);
    const startedMs = this.clock.now();
    let outcome: DeployResult;
    try {
      const prepared = await this.prepare(name);
      outcome = await this.orFallback(await deployToTarget(prepared, context, { force: false, dryRun: false }, startedMs), prepared, context, startedMs);
    } catch (error) {
      outcome = { lineage: name, target: targetName, kind: 'failed', reason: (error as Error).message, error, durationMs: this.clock.now() - startedMs };
    }
    logOutcome(this.log, outcome);
    return outcome;
  }

  /** Which HAProxy process serves a target now (asked on a fresh connection): cheap, for frequent checks. */
  async targetProcess(targetName: string): Promise<number> {
    return (await this.contextOf(targetName).client.showInfo({ fresh: true })).pid;
  }

  /** Whether a target can be written to: level admin, its crt-list loaded, no `crt <dir>` on the bundles dir. */
  async checkTargetReady(targetName: string): Promise<Error | undefined> {
    const context = this.contextOf(targetName);
    return preflightTarget(context.target, context.client, this.config.crtList.file);
  }

  /** The lineages under live/ (names hotcert can deploy, and the ones it refuses). */
  listLineages(): ReturnType<typeof listLineages> {
    return listLineages(this.config.letsencrypt.dir);
  }

  /**
   * Takes a lineage Certbot deleted out of a target: every crt-list entry of its bundle (by line number), then the
   * store, then hotcert's crt-list line and bundle file. HAProxy refuses to delete an entry that is the default
   * certificate of a bind; that refusal is reported and the certificate stays.
   * @returns false when HAProxy did not have it.
   */
  async removeLineageFromTarget(name: string, targetName: string): Promise<boolean> {
    const context = this.contextOf(targetName);
    const storePath = join(context.target.bundlesDir, `${name}.pem`);
    const removed = await context.inSlot(async () => {
      if (!(await context.client.showCert(storePath))) return false;
      const entries = await context.client.showCrtListEntries(context.target.crtList);
      for (const entry of entries.filter((candidate) => candidate.path === storePath)) {
        await context.client.delCrtListEntry(context.target.crtList, `${storePath}:${entry.line}`);
      }
      await context.client.delCert(storePath);
      return true;
    });
    if (!context.target.runtimeOnly) {
      await context.crtList.removeLine(storePath);
      await context.bundles.restore(name, undefined);
    }
    return removed;
  }

  /** Drops a target's open session (after a reload it still talks to the old worker). */
  dropSession(targetName: string): void {
    this.contextOf(targetName).client.close();
  }

  private contextOf(targetName: string): EngineTargetContext {
    const context = this.contexts.find((candidate) => candidate.target.name === targetName);
    if (!context) throw new Error(`no target named ${targetName}`);
    return context;
  }

  private async reloadedTargets(): Promise<string[]> {
    const reloaded: string[] = [];
    for (const context of this.contexts) {
      if (context.down || context.processId === undefined) continue;
      try {
        const info = await context.client.showInfo({ fresh: true });
        if (info.pid !== context.processId) reloaded.push(context.target.name);
      } catch (error) {
        this.log.warn('target did not answer after the sync; a reload or restart there is not detected', {
          [Field.target]: context.target.name,
          [Field.error]: error,
        });
      }
    }
    return reloaded;
  }

  private async preflight(contexts: readonly EngineTargetContext[]): Promise<void> {
    await Promise.all(
      contexts.map(async (context) => {
        // Unreachable here means preflightTarget reports it, with the address, just below.
        context.processId = await context.client.showInfo({ fresh: true }).then(
          (info) => info.pid,
          () => undefined,
        );
        const problem = await preflightTarget(context.target, context.client, this.config.crtList.file);
        if (problem) {
          context.down = problem;
          this.log.error('target cannot be deployed to', { [Field.target]: context.target.name, [Field.error]: problem });
        } else {
          delete context.down;
        }
        if (context.target.runtimeOnly) {
          this.log.warn('target is runtime-only: HAProxy there cannot read hotcert\'s files, so every swap is lost at its next reload', {
            [Field.target]: context.target.name,
          });
        }
      }),
    );
  }

  private async syncOne(name: string, options: DeployOptions, contexts: readonly EngineTargetContext[]): Promise<DeployResult[]> {
    const startedMs = this.clock.now();
    const prepared = await this.prepare(name);
    return Promise.all(
      contexts.map(async (context) => {
        if (context.down) {
          // One error line for the target was logged when it went down; each lineage is counted, not logged again.
          const unavailable: DeployResult = { lineage: name, target: context.target.name, kind: 'failed', reason: `target unavailable: ${context.down.message}`, error: context.down, durationMs: 0 };
          const outcome = options.dryRun ? unavailable : await this.orFallback(unavailable, prepared, context, startedMs);
          if (outcome !== unavailable) logOutcome(this.log, outcome);
          return outcome;
        }
        const deployed = await deployToTarget(prepared, context, options, startedMs);
        if (deployed.kind === 'failed' && isUnreachable(deployed.error)) context.down = deployed.error as Error;
        const outcome = options.dryRun ? deployed : await this.orFallback(deployed, prepared, context, startedMs);
        logOutcome(this.log, outcome);
        return outcome;
      }),
    );
  }

  private usesFallback(context: EngineTargetContext): boolean {
    return this.fallback !== undefined && context.target.docker?.reloadFallback !== undefined;
  }

  // The reload fallback takes over only when the runtime API could not be used at all, never after HAProxy
  // refused a bundle (a reload would load the refused bundle's predecessor anyway).
  private async orFallback(outcome: DeployResult, prepared: PreparedLineage, context: EngineTargetContext, startedMs: number): Promise<DeployResult> {
    if (outcome.kind !== 'failed' || !isUnreachable(outcome.error) || !this.usesFallback(context)) return outcome;
    // The target's own error was logged once when it went down; per lineage this is detail.
    this.log.debug('runtime API cannot be used; trying the reload fallback', { [Field.target]: context.target.name, [Field.lineage]: prepared.name, [Field.error]: outcome.error });
    return fallbackDeploy(prepared, context, this.fallback as ReloadFallback, startedMs);
  }

  private async prepare(name: string): Promise<PreparedLineage> {
    let full: ReturnType<PreparedLineage['full']> | undefined;
    return {
      name,
      quick: quickLook(this.config.letsencrypt.dir, name),
      full: () =>
        (full ??= (async () => {
          return this.assessor.assess(name, new Date(this.clock.now()));
        })()),
    };
  }
}
