import type { DeployFacts } from './facts.js';
import { planDeploy } from './plan-deploy.js';
import type { Step } from './steps.js';

/**
 * The reload fallback's plan, for a container target whose runtime API cannot be used at all: the same rules as
 * every deploy (not ready, invalid, held back), then hotcert's files brought in step and, unless a TLS handshake
 * shows the container serves the certificate already, its reload signal.
 */
export type FallbackPlan =
  | Exclude<ReturnType<typeof planDeploy>, { kind: 'apply' }>
  | { readonly kind: 'apply'; readonly steps: readonly Step[] };

export interface FallbackFacts extends DeployFacts {
  /** The SHA-1 of the leaf a TLS handshake with the container got for the certificate's first name. */
  readonly handshakeLeafSha1: string | undefined;
}

export function planFallback(facts: FallbackFacts): FallbackPlan {
  // What the runtime API would say is unknown: plan as for a target that has no store, and keep its verdicts.
  const plan = planDeploy({ ...facts, store: undefined, refused: undefined });
  if (plan.kind !== 'apply' || facts.source.kind !== 'ready') return plan;
  const wanted = facts.source.certificate;
  const steps: Step[] = [];
  if (facts.files.bundle?.digest !== wanted.bundleDigest) steps.push('write-bundle');
  if (facts.files.crtListLine !== 'present') steps.push('write-crt-list-line');
  if (facts.handshakeLeafSha1 !== wanted.identity.leafSha1) steps.push('reload', 'verify-by-handshake');
  return steps.length === 0 ? { kind: 'unchanged' } : { kind: 'apply', steps };
}
