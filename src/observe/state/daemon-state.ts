import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../../platform/files/atomic-file.js';
import { isDeploy, isInSync, type Outcome, type OutcomeKind } from '../../core/outcome.js';
import type { WatchState } from '../../sources/source.js';

/** What `hotcert run` knows that disk and HAProxy do not say: the last outcome and the last deploy of each pair. */
export interface PairState {
  readonly outcome: OutcomeKind;
  readonly at: string;
  readonly serial?: string;
  readonly reason?: string;
  /** The last time a certificate was deployed or added (not merely found unchanged). */
  readonly lastDeployAt?: string;
}

export interface DaemonStateFile {
  readonly pid: number;
  readonly startedAt: string;
  readonly updatedAt: string;
  /** When the last full sync of every lineage on every target was attempted. */
  readonly lastFullSyncAt?: string;
  /** How the daemon follows its source: inotify watches, or polling because the kernel refused them. */
  readonly watch?: WatchState;
  /** lineage → target → state. */
  readonly lineages: Record<string, Record<string, PairState>>;
}

/**
 * The state file `hotcert run` publishes (`state.file`) and `hotcert status` reads. Written atomically, at most once
 * per `intervalMs`: ten thousand outcomes in a resync make one write, not ten thousand.
 */
export class DaemonState {
  private readonly lineages: Record<string, Record<string, PairState>> = {};
  private readonly startedAt = new Date().toISOString();
  private lastFullSyncAt: string | undefined;
  private watch: WatchState | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly onWriteError: (error: unknown) => void,
    private readonly intervalMs = 1000,
  ) {}

  record(outcome: Outcome): void {
    const previous = this.lineages[outcome.lineage]?.[outcome.target];
    const now = new Date().toISOString();
    const deployed = isDeploy(outcome.kind);
    const lastDeployAt = deployed ? now : previous?.lastDeployAt;
    (this.lineages[outcome.lineage] ??= {})[outcome.target] = {
      outcome: outcome.kind,
      at: now,
      ...(outcome.serial ? { serial: outcome.serial } : {}),
      ...(outcome.reason && outcome.kind !== 'unchanged' ? { reason: outcome.reason } : {}),
      ...(lastDeployAt ? { lastDeployAt } : {}),
    };
    this.schedule();
  }

  /** A pair the source no longer has: its last outcome says nothing any more. */
  forget(lineage: string, target: string): void {
    const targets = this.lineages[lineage];
    if (!targets?.[target]) return;
    delete targets[target];
    if (Object.keys(targets).length === 0) delete this.lineages[lineage];
    this.schedule();
  }

  setWatch(state: WatchState): void {
    this.watch = state;
    this.schedule();
  }

  /** Every lineage and target whose last outcome is known ended deployed, added or unchanged. */
  allInSync(): boolean {
    return Object.values(this.lineages).every((targets) =>
      Object.values(targets).every((pair) => isInSync(pair.outcome)),
    );
  }

  fullSyncAttempted(): void {
    this.lastFullSyncAt = new Date().toISOString();
    this.schedule();
  }

  /** Writes now what is pending (at shutdown). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.write();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, this.intervalMs);
    this.timer.unref();
  }

  // Never rejects: a state file that cannot be written is reported, and the daemon goes on deploying.
  private write(): Promise<void> {
    const snapshot: DaemonStateFile = {
      pid: process.pid,
      startedAt: this.startedAt,
      updatedAt: new Date().toISOString(),
      ...(this.lastFullSyncAt ? { lastFullSyncAt: this.lastFullSyncAt } : {}),
      ...(this.watch ? { watch: this.watch } : {}),
      lineages: this.lineages,
    };
    this.writing = this.writing.then(async () => {
      try {
        await mkdir(dirname(this.file), { recursive: true, mode: 0o755 });
        await writeFileAtomic(this.file, `${JSON.stringify(snapshot)}\n`, { mode: 0o644 });
      } catch (error) {
        this.onWriteError(error);
      }
    });
    return this.writing;
  }
}

/** The state a daemon published, or undefined when there is none (no daemon has run). */
export async function readDaemonState(file: string): Promise<DaemonStateFile | undefined> {
  const text = await readFileIfExists(file);
  return text === undefined ? undefined : (JSON.parse(text) as DaemonStateFile);
}
