/** The timer functions SettleTimers uses; tests pass jest's fake timers or their own. */
export interface TimerApi {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: TimerApi = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Per lineage: fires `settleMs` after its last event, but never later than `maxWaitMs` after its first, so that a
 * lineage Certbot keeps touching is still read. Certbot writes a lineage in well under 50 ms; what is not done by
 * then is caught by the job's consistency check and retried.
 */
export class SettleTimers {
  private readonly entries = new Map<string, { firstAt: number; handle: unknown }>();

  constructor(
    private readonly settleMs: number,
    private readonly maxWaitMs: number,
    private readonly onSettled: (name: string) => void,
    private readonly timers: TimerApi = realTimers,
  ) {}

  touch(name: string): void {
    const now = this.timers.now();
    const entry = this.entries.get(name);
    const firstAt = entry?.firstAt ?? now;
    if (entry) this.timers.clearTimeout(entry.handle);
    const delay = Math.max(0, Math.min(this.settleMs, firstAt + this.maxWaitMs - now));
    const handle = this.timers.setTimeout(() => {
      this.entries.delete(name);
      this.onSettled(name);
    }, delay);
    this.entries.set(name, { firstAt, handle });
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    for (const entry of this.entries.values()) this.timers.clearTimeout(entry.handle);
    this.entries.clear();
  }
}
