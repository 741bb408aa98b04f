import PQueue from 'p-queue';
import type { CertIdentity } from '../core/cert-identity.js';
import { setCommandBytes } from '../core/bundle.js';
import type { CertificateSummary } from '../core/facts.js';
import { UNKNOWN_HEALTH, type TargetHealth } from '../core/target-health.js';
import type { TargetConfig } from '../config/schema.js';
import type { RuntimeClient, SentAhead, SetAnswer } from '../haproxy/runtime-client.js';
import { storePath } from '../haproxy/store-path.js';
import { TransactionGuard, type Clock } from '../haproxy/transaction-guard.js';
import type { Logger } from '../observe/log/create-logger.js';
import { ServedStateLoader } from './served-state-loader.js';

/**
 * The `set ssl cert` a queued turn of the slot begins with. The turn before it sends it ahead, in the same write as
 * its own commit: HAProxy answers in order, so the set is parsed while hotcert reads the commit's reply, and each
 * certificate costs one round trip instead of two. The turn then checks what the transaction holds as always. A first
 * issuance's turn begins with `new ssl cert`, sent ahead with its set.
 */
export class Opening implements SentAhead {
  answer: SetAnswer | undefined;
  constructor(
    readonly path: string,
    readonly bundle: string,
    readonly opens: 'store' | 'transaction',
  ) {}
}

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
  /** The largest `set ssl cert` this target took: a set sent ahead is never larger (an oversized one breaks the session). */
  largestSetBytes = 0;
  private readonly queue = new PQueue({ concurrency: 1 });
  /** The turns queued and not started, in order (the queue runs them first in, first out). */
  private readonly turns: (Opening | 'reads' | undefined)[] = [];

  constructor(
    readonly target: TargetConfig,
    readonly client: RuntimeClient,
    staleTransactionMs: number,
    clock: Clock,
    log: Logger,
  ) {
    this.guard = new TransactionGuard(client, staleTransactionMs, clock, log);
    this.served = new ServedStateLoader(client, (work) => this.inSlot(work, 'reads'));
  }

  get name(): string {
    return this.target.name;
  }

  /**
   * Every runtime command of a target runs here: HAProxy 2.6 takes its certificate lock for `show ssl cert` too.
   * @param begins the set the turn begins with, or 'reads' for a turn that only reads (`show ssl cert`).
   */
  inSlot<T>(work: () => Promise<T>, begins?: Opening | 'reads'): Promise<T> {
    this.turns.push(begins);
    return this.queue.add(() => {
      this.turns.shift();
      return work();
    });
  }

  /**
   * The set the next turn that changes anything begins with, when it is no larger than a set this target took: to
   * send ahead. Turns that only read may run between: `show ssl cert` leaves a transaction alone.
   */
  nextOpening(): Opening | undefined {
    const opening = this.turns.find((turn) => turn !== 'reads');
    return opening && opening.answer === undefined && setCommandBytes(opening.path, opening.bundle) <= this.largestSetBytes ? opening : undefined;
  }

  storePath(name: string): string {
    return storePath(this.target.bundlesDir, name);
  }
}
