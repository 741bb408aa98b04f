import { isInSync, type Outcome } from '../../core/outcome.js';
import type { Logger } from './create-logger.js';
import { Field } from './fields.js';

const DAY_MS = 86_400_000;

/**
 * Expiry in the log, for operators who live in `journalctl -p warning`: a warning for a served certificate within
 * `warnDays` of its notAfter, an error within `criticalDays`, at the first look after the daemon starts and then
 * at most once a day per lineage and target (or at once when it crosses into the critical range).
 */
export class ExpiryWarnings {
  private readonly said = new Map<string, { atMs: number; critical: boolean }>();

  constructor(
    private readonly log: Logger,
    private readonly thresholds: { readonly warnDays: number; readonly criticalDays: number },
    private readonly now: () => number = Date.now,
  ) {}

  observe(outcome: Outcome): void {
    if (!outcome.notAfter || !isInSync(outcome.kind)) return;
    const key = `${outcome.lineage}\n${outcome.target}`;
    const now = this.now();
    const daysLeft = Math.floor((outcome.notAfter.getTime() - now) / DAY_MS);
    if (daysLeft >= this.thresholds.warnDays) {
      this.said.delete(key);
      return;
    }
    const critical = daysLeft < this.thresholds.criticalDays;
    const last = this.said.get(key);
    if (last && now - last.atMs < DAY_MS && (last.critical || !critical)) return;
    this.said.set(key, { atMs: now, critical });
    this.log.log(critical ? 'error' : 'warn', daysLeft < 0 ? 'certificate expired' : `certificate expires in ${daysLeft} day${daysLeft === 1 ? '' : 's'}`, {
      [Field.lineage]: outcome.lineage,
      [Field.target]: outcome.target,
      [Field.notAfter]: outcome.notAfter.toISOString(),
      days_left: daysLeft,
      ...(outcome.serial ? { [Field.serial]: outcome.serial } : {}),
    });
  }
}
