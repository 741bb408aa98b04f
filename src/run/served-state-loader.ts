import type { CertStoreDetails } from '../haproxy/cert-replies.js';
import type { RuntimeClient } from '../haproxy/runtime-client.js';

/** Reads taken to ride along with another request; `settle` gets their replies in order. */
export interface RidingReads {
  readonly paths: readonly string[];
  /** What each read found; 'unanswered' (the request failed, or the reply was not one) sends it back to wait. */
  settle(details: readonly (CertStoreDetails | undefined | 'unanswered')[]): void;
}

// Riders are lines of a request HAProxy reads into one buffer at a time; far below the smallest tune.bufsize seen.
const RIDER_BYTES = 3000;

/**
 * Gathers the `show ssl cert <path>` reads that deploys ask for while the target's slot is busy: they ride along
 * with the slot's next commit (`takeRiders`), or, when nothing else is sent, go as one batch of their own when
 * the slot is free. One round trip for many lineages, and during a bulk deploy none of their own.
 */
export class ServedStateLoader {
  private waiting: { path: string; resolve: (details: CertStoreDetails | undefined) => void; reject: (error: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly client: RuntimeClient,
    private readonly inSlot: <T>(work: () => Promise<T>) => Promise<T>,
    private readonly maxBatch = 64,
  ) {}

  load(path: string): Promise<CertStoreDetails | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ path, resolve, reject });
      this.schedule();
    });
  }

  /** The reads waiting now (as many as fit a request line budget), to be sent with another request. */
  takeRiders(): RidingReads {
    let bytes = 0;
    let count = 0;
    while (count < this.waiting.length && count < this.maxBatch && bytes < RIDER_BYTES) {
      bytes += (this.waiting[count]?.path.length ?? 0) + 16;
      count += 1;
    }
    const riders = this.waiting.splice(0, count);
    return {
      paths: riders.map((entry) => entry.path),
      settle: (details) => {
        const unanswered = riders.filter((entry, index) => {
          const found = details[index];
          if (found === 'unanswered') return true;
          entry.resolve(found);
          return false;
        });
        if (unanswered.length === 0) return;
        this.waiting.unshift(...unanswered);
        this.schedule();
      },
    };
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    void this.inSlot(() => this.flush());
  }

  // Never rejects: every waiting caller gets the outcome of its own read.
  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.waiting.splice(0, this.maxBatch);
    if (this.waiting.length > 0) this.schedule();
    // Riders of the requests before this turn may have taken them all.
    if (batch.length === 0) return;
    try {
      const details = await this.client.showCerts(batch.map((entry) => entry.path));
      batch.forEach((entry, index) => entry.resolve(details[index]));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }
}
