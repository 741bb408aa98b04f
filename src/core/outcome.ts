/**
 * `reloaded`: the runtime API could not be used, so the files were written and the container reloaded (the opt-in
 * reload fallback); never counted as a hot swap.
 */
export type OutcomeKind = 'deployed' | 'added' | 'reloaded' | 'unchanged' | 'not-ready' | 'held' | 'failed';

/** The target now serves the lineage's new certificate because of this outcome. */
export function isDeploy(kind: OutcomeKind): boolean {
  return kind === 'deployed' || kind === 'added' || kind === 'reloaded';
}

/** The target serves what Certbot holds. */
export function isInSync(kind: OutcomeKind): boolean {
  return isDeploy(kind) || kind === 'unchanged';
}

export interface Outcome {
  readonly lineage: string;
  readonly target: string;
  readonly kind: OutcomeKind;
  /** The serial now on disk in Certbot's live dir (when it could be read). */
  readonly serial?: string;
  readonly notAfter?: Date;
  readonly durationMs: number;
  /** Why: for not-ready, held and failed, and for a deploy that only repaired files. */
  readonly reason?: string;
  readonly error?: unknown;
  /** Planned only (`sync --dry-run`): nothing was changed. */
  readonly dryRun?: boolean;
}

/** Counts per outcome, for the line that closes a sync. */
export function countOutcomes(outcomes: readonly Outcome[]): Record<OutcomeKind, number> {
  const counts: Record<OutcomeKind, number> = { deployed: 0, added: 0, reloaded: 0, unchanged: 0, 'not-ready': 0, held: 0, failed: 0 };
  for (const outcome of outcomes) counts[outcome.kind] += 1;
  return counts;
}
