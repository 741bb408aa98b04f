import PQueue from 'p-queue';
import type { CertIdentity } from '../core/cert-identity.js';
import type { CertificateSummary } from '../core/facts.js';
import { UNKNOWN_HEALTH, type TargetHealth } from '../core/target-health.js';
import type { TargetConfig } from '../config/schema.js';
import type { RuntimeClient } from '../haproxy/runtime-client.js';
import { storePath } from '../haproxy/store-path.js';
import { TransactionGuard, type Clock } from '../haproxy/transaction-guard.js';
import type { Logger } from '../observe/log/create-logger.js';
import { ServedStateLoader } from './served-state-loader.js';

/**
 * One target as the engine works with it: its runtime client, its serial slot (HAProxy has one certificate
 * transaction per process, so one deploy at a time goes through it), its health, and what hotcert learnt of it.
 */
export class TargetSlot {
  readonly guard: TransactionGuard;
  readonly served: ServedStateLoader;
  health: TargetHealth = UNKNOWN_HEALTH;
  /** The reason it cannot be deployed to in this run (preflight, or unreachable mid-run); undefined: it can. */
  down: Error | undefined;
  /** The worker Pid at the start of a run, to notice a reload during it. */
  processAtStart: number | undefined;
  /** What hotcert last deployed here, per name: the anti-rollback reference of a runtime-only target. */
  readonly deployed = new Map<string, CertificateSummary>();
  /** The smallest `set ssl cert` this target could not take: nothing that large is sent again. */
  commandLimit: number | undefined;
  /** What each name was last seen served with, by any read or verification: for decisions about shared files. */
  readonly lastSeen = new Map<string, CertIdentity | undefined>();
  private readonly queue = new PQueue({ concurrency: 1 });

  constructor(
    readonly target: TargetConfig,
    readonly client: RuntimeClient,
    staleTransactionMs: number,
    clock: Clock,
    log: Logger,
  ) {
    this.guard = new TransactionGuard(client, staleTransactionMs, clock, log);
    this.served = new ServedStateLoader(client, (work) => this.inSlot(work));
  }

  get name(): string {
    return this.target.name;
  }

  /** Every runtime command of a target runs here: HAProxy 2.6 takes its certificate lock for `show ssl cert` too. */
  inSlot<T>(work: () => Promise<T>): Promise<T> {
    return this.queue.add(work);
  }

  storePath(name: string): string {
    return storePath(this.target.bundlesDir, name);
  }
}
