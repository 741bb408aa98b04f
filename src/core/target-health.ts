/**
 * One target's health, as every part of hotcert sees it: whether it can be deployed to, which HAProxy process
 * answered last (a new one means a reload or a restart, which loaded hotcert's files afresh), and the problem
 * last reported, so that a target that stays down is reported once, not at every check. Pure: observations in,
 * the new health and what changed out.
 */
export interface TargetHealth {
  readonly state: 'unknown' | 'up' | 'down';
  /** The worker's Pid `show info` gave last. */
  readonly pid: number | undefined;
  readonly problem: string | undefined;
  /** The problem was reported (logged); a quiet observation does not count as reported. */
  readonly reported: boolean;
}

export const UNKNOWN_HEALTH: TargetHealth = { state: 'unknown', pid: undefined, problem: undefined, reported: false };

export type HealthObservation =
  /** It answered, with this worker, and can (or cannot, with `problem`) be deployed to. */
  | { readonly kind: 'answered'; readonly pid: number; readonly problem?: string }
  | { readonly kind: 'unreachable'; readonly problem: string };

/** What the observation means for the deploys: nothing new, back (or up for the first time), reloaded, down. */
export type HealthChange = 'none' | 'up' | 'came-back' | 'reloaded' | 'down' | 'problem-changed';

export function observeHealth(health: TargetHealth, observation: HealthObservation, quiet = false): { health: TargetHealth; change: HealthChange; report: boolean } {
  const problem = observation.kind === 'unreachable' ? observation.problem : observation.problem;
  const pid = observation.kind === 'answered' ? observation.pid : health.pid;
  if (problem !== undefined) {
    const report = !quiet && (health.state !== 'down' || health.problem !== problem || !health.reported);
    const change: HealthChange = health.state !== 'down' ? 'down' : health.problem !== problem ? 'problem-changed' : 'none';
    return { health: { state: 'down', pid, problem, reported: report || (health.reported && health.problem === problem) }, change, report };
  }
  const up: TargetHealth = { state: 'up', pid, problem: undefined, reported: false };
  if (health.state === 'unknown') return { health: up, change: 'up', report: false };
  if (health.state === 'down') return { health: up, change: 'came-back', report: false };
  if (health.pid !== pid) return { health: up, change: 'reloaded', report: false };
  return { health: up, change: 'none', report: false };
}
