import type { CertStoreDetails } from '../haproxy/cert-replies.js';
import type { RuntimeClient } from '../haproxy/runtime-client.js';

/**
 * Gathers the `show ssl cert <path>` reads that deploys ask for while the target's slot is busy, and sends them as
 * one batch (a line each) when the slot is free: one round trip for many lineages instead of one each.
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
    try {
      const details = await this.client.showCerts(batch.map((entry) => entry.path));
      batch.forEach((entry, index) => entry.resolve(details[index]));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }
}
