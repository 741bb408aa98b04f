import type { Logger } from './create-logger.js';
import { Field } from './fields.js';
import type { Outcome, OutcomeKind } from '../../core/outcome.js';

const MESSAGE: Record<OutcomeKind, string> = {
  deployed: 'certificate deployed',
  added: 'certificate added',
  reloaded: 'certificate deployed by reloading the container (reload fallback: the runtime API could not be used)',
  unchanged: 'certificate unchanged',
  'not-ready': 'lineage not ready',
  held: 'certificate held back',
  failed: 'deploy failed',
};

const LEVEL: Record<OutcomeKind, 'debug' | 'info' | 'warn' | 'error'> = {
  deployed: 'info',
  added: 'info',
  reloaded: 'warn',
  // Ten thousand "unchanged" lines per sync would flood the journal: the summary counts them.
  unchanged: 'debug',
  'not-ready': 'warn',
  held: 'warn',
  failed: 'error',
};

// A dry run's lines never read like a deploy's: `journalctl -g "certificate (added|deployed)"` finds real ones only.
const DRY_RUN_MESSAGE: Partial<Record<OutcomeKind, string>> = {
  deployed: 'would deploy certificate',
  added: 'would add certificate',
};

/** One line per outcome, with the fields an operator greps for. */
export function logOutcome(log: Logger, outcome: Outcome): void {
  if (!log.isLevelEnabled(LEVEL[outcome.kind])) return;
  const message = (outcome.dryRun ? DRY_RUN_MESSAGE[outcome.kind] : undefined) ?? MESSAGE[outcome.kind];
  log.log(LEVEL[outcome.kind], message, {
    ...(outcome.dryRun ? { dry_run: true } : {}),
    [Field.lineage]: outcome.lineage,
    [Field.target]: outcome.target,
    [Field.outcome]: outcome.kind,
    ...(outcome.serial ? { [Field.serial]: outcome.serial } : {}),
    ...(outcome.notAfter ? { [Field.notAfter]: outcome.notAfter.toISOString() } : {}),
    [Field.durationMs]: outcome.durationMs,
    ...(outcome.reason && outcome.kind !== 'failed' ? { [Field.reason]: outcome.reason } : {}),
    ...(outcome.error ? { [Field.error]: outcome.error } : {}),
  });
}
