/** What a sync did for one lineage on one target. */
export type OutcomeKind = 'deployed' | 'added' | 'unchanged' | 'not-ready' | 'held' | 'failed';

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
}
