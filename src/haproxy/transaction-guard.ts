import { TransactionBusyError } from '../errors.js';
import type { RuntimeClient } from './runtime-client.js';
import type { Logger } from '../observe/log/create-logger.js';
import { Field } from '../observe/log/fields.js';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * HAProxy has one certificate transaction per process, shared by every client of the runtime API, and in 2.6 a
 * `set ssl cert Y` while X's transaction is open puts Y's certificate into X's transaction (seen on 2.6.12). Before
 * hotcert opens a transaction, none may be open. Another client's transaction is left alone while it changes or
 * for `staleMs`; one that stays open and unchanged that long was left behind by a client that died, and is aborted.
 *
 * The probe that rides along with hotcert's own commit stands for a probe of its own for FRESH_PROBE_MS: a probe of
 * its own is as old by the time its `set` arrives when the host is busy with a bulk deploy (a round trip and a turn
 * of the event loop, milliseconds on 2 cores). At 2 ms most commits were followed by a probe of its own, a third
 * round trip per certificate.
 */
const FRESH_PROBE_MS = 20;

export class TransactionGuard {
  private seen: { key: string; sinceMs: number } | undefined;
  /** When a probe that rode along with hotcert's own last commit found no transaction open. */
  private clearAt: number | undefined;

  constructor(
    private readonly client: RuntimeClient,
    private readonly staleMs: number,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /**
   * A probe sent in the same request as hotcert's last commit found no transaction open. Used by the next
   * `waitUntilClear` only within FRESH_PROBE_MS: no longer than the gap between a probe of its own and the `set`.
   */
  noteClear(): void {
    this.clearAt = this.clock.now();
  }

  /** Resolves once no transaction is open; throws when one stays open and keeps changing for 3 × staleMs. */
  async waitUntilClear(): Promise<void> {
    const clearAt = this.clearAt;
    this.clearAt = undefined;
    if (clearAt !== undefined && this.clock.now() - clearAt <= FRESH_PROBE_MS) return;
    const deadline = this.clock.now() + this.staleMs * 3;
    for (;;) {
      const transaction = await this.client.openTransaction();
      if (transaction === undefined) {
        this.seen = undefined;
        return;
      }
      const details = await this.client.showCert(transaction, { transaction: true });
      const key = `${transaction}|${details?.serial ?? ''}|${details?.sha1Fingerprint ?? ''}`;
      const now = this.clock.now();
      if (this.seen?.key !== key) {
        this.seen = { key, sinceMs: now };
        this.log.warn('another client has a certificate transaction open; waiting', {
          [Field.target]: this.client.target,
          [Field.file]: transaction,
        });
      } else if (now - this.seen.sinceMs >= this.staleMs) {
        const result = await this.client.abortCert(transaction);
        this.log.warn('aborted a certificate transaction left open and unchanged', {
          [Field.target]: this.client.target,
          [Field.file]: transaction,
          open_ms: now - this.seen.sinceMs,
          [Field.outcome]: result,
        });
        this.seen = undefined;
        continue;
      }
      if (now >= deadline) {
        throw new TransactionBusyError(
          `target ${this.client.target}: another client keeps a certificate transaction open on ${transaction}; no other tool may write certificates through the runtime API while hotcert runs`,
          { target: this.client.target, file: transaction },
        );
      }
      await this.clock.sleep(Math.min(250, Math.max(20, this.staleMs / 10)));
    }
  }
}
