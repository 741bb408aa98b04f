import type { OutcomeKind } from './outcome.js';

/** What happens after a job's outcome: done, or another try after a delay. Pure. */
export type RetryDecision = { readonly kind: 'done' } | { readonly kind: 'retry'; readonly delayMs: number };

export interface RetryState {
  /** Tries so far that did not succeed, this one included. */
  readonly attempt: number;
}

/**
 * - not-ready: Certbot is mid-write; look again soon, then less often (250 ms doubling, at most 30 s).
 * - failed: bad input or a refusal; try again with a capped backoff (1 s doubling, at most 5 min), never give up:
 *   a fixed file or a HAProxy that comes back is picked up without an operator's restart.
 * - held: a refused rollback stays refused until the source or hotcert's files change; looked at again with a
 *   slower backoff (1 min doubling, at most 1 h), so that a repair is picked up without waiting for the rescan.
 */
export function retryAfter(outcome: OutcomeKind, state: RetryState): RetryDecision {
  switch (outcome) {
    case 'not-ready':
      return { kind: 'retry', delayMs: Math.min(250 * 2 ** (state.attempt - 1), 30_000) };
    case 'failed':
      return { kind: 'retry', delayMs: Math.min(1000 * 2 ** (state.attempt - 1), 300_000) };
    case 'held':
      return { kind: 'retry', delayMs: Math.min(60_000 * 2 ** (state.attempt - 1), 3_600_000) };
    default:
      return { kind: 'done' };
  }
}
