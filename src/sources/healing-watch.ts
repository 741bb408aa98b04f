import { DirectoryWatch } from '../platform/files/directory-watch.js';
import { WatchLimitError } from '../errors.js';
import type { SourceWatchHandlers, WatchState } from './source.js';

export interface HealingWatchSettings {
  /** The directories to watch now (the ones that exist). */
  readonly directories: () => readonly string[];
  /** An entry changed in a watched directory. */
  readonly onEntry: (dir: string, entry: string) => void;
  /** A cheap look at every certificate, calling `onChange` for what changed since the last look, while polling. */
  readonly poll: () => void;
  readonly pollMs: number;
  /** Retries of the watches while polling: the first delay, doubling to the last. */
  readonly retryMs: readonly [number, number];
}

/**
 * Watches a source's directories, and heals: when the kernel refuses the watches (the inotify limit), it says so
 * once with the fix, keeps finding changes by polling every `pollMs`, and tries the watches again with backoff;
 * once they hold again everything is looked at. A directory whose watch breaks is watched again at the next
 * `rearm` (its parent's event, or the retry).
 */
export class HealingWatch {
  private readonly watch: DirectoryWatch;
  private current: WatchState = { kind: 'starting' };
  private pollTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs: number;
  private stopped = false;

  constructor(
    private readonly settings: HealingWatchSettings,
    private readonly handlers: SourceWatchHandlers,
  ) {
    this.retryDelayMs = settings.retryMs[0];
    this.watch = new DirectoryWatch({
      onEntry: (dir, entry) => settings.onEntry(dir, entry),
      onLost: () => this.rearm(),
    });
  }

  get state(): WatchState {
    return this.current;
  }

  start(): void {
    this.rearm();
  }

  /** Watches every directory that exists now and is not watched yet; on the kernel's refusal, polls instead. */
  rearm(): void {
    if (this.stopped) return;
    try {
      for (const dir of this.settings.directories()) {
        try {
          this.watch.add(dir);
        } catch (error) {
          // Gone between the listing and the watch: its parent's event or the next rescan brings it back.
          if (!(error instanceof WatchLimitError) && (error as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw error;
        }
      }
    } catch (error) {
      this.degrade(error as Error);
      return;
    }
    const wasPolling = this.current.kind === 'polling';
    this.stopPolling();
    this.retryDelayMs = this.settings.retryMs[0];
    this.setState({ kind: 'watching', watches: this.watch.count });
    if (wasPolling) this.handlers.onRescan('file watches restored');
  }

  stop(): void {
    this.stopped = true;
    this.stopPolling();
    this.watch.close();
    this.setState({ kind: 'stopped' });
  }

  private degrade(error: Error): void {
    // Half a set of watches misses events as surely as none: poll until all of them hold.
    this.watch.close();
    const reason = error.message;
    if (this.current.kind !== 'polling') {
      this.setState({ kind: 'polling', reason, pollMs: this.settings.pollMs });
      this.pollTimer = setInterval(() => this.settings.poll(), this.settings.pollMs);
      this.pollTimer.unref();
      this.settings.poll();
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.rearm(), this.retryDelayMs);
    this.retryTimer.unref();
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.settings.retryMs[1]);
  }

  private stopPolling(): void {
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    this.pollTimer = undefined;
    this.retryTimer = undefined;
  }

  private setState(state: WatchState): void {
    const changed = state.kind !== this.current.kind || (state.kind === 'watching' && this.current.kind === 'watching' && state.watches !== this.current.watches);
    this.current = state;
    if (changed) this.handlers.onWatchState(state);
  }
}
