import { BundleTooLargeError } from '../errors.js';
import { sameIdentity } from './cert-identity.js';
import type { CertificateSummary, DeployFacts } from './facts.js';
import type { Step } from './steps.js';

/**
 * What must happen for one target to serve what the source holds under one name, with hotcert's files in step.
 * Every rule of a deploy lives here, once: unchanged, held, refused, too large, and the order of the steps, which
 * keeps three things true after any step fails:
 * - a line of the crt-list file names a bundle HAProxy accepted (the line is written once HAProxy serves it);
 * - the bundle file holds what HAProxy serves or the newer certificate being deployed (written before the swap,
 *   put back when HAProxy refused it and no other target serves it);
 * - what is served is compared by content (leaf and chain), never by serial.
 */
export type DeployPlan =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'not-ready'; readonly reason: string }
  | { readonly kind: 'held'; readonly reason: string }
  /** Nothing to deploy; `cleanup` undoes what an attempt in this reconcile left (a refused bundle). */
  | { readonly kind: 'failed'; readonly error: Error; readonly cleanup: readonly Step[] }
  | {
      readonly kind: 'apply';
      /** `added` when HAProxy starts serving the store for its names, `deployed` when a certificate is replaced. */
      readonly outcome: 'added' | 'deployed';
      readonly steps: readonly Step[];
      /** When only hotcert's files were repaired. */
      readonly reason?: string;
    };

export function planDeploy(facts: DeployFacts): DeployPlan {
  const { source, store, files, runtimeOnly } = facts;
  if (source.kind === 'absent') throw new Error('planDeploy: the source has no such certificate (plan its removal instead)');
  if (source.kind === 'not-ready') return { kind: 'not-ready', reason: source.reason };
  if (source.kind === 'invalid') return { kind: 'failed', error: source.error, cleanup: [] };
  const wanted = source.certificate;

  const served = store?.status === 'Used' && sameIdentity(store.certificate?.identity, wanted.identity);
  const bundleInStep = runtimeOnly || files.bundle?.digest === wanted.bundleDigest;
  const lineInStep = runtimeOnly || files.crtListLine === 'present';
  if (served && bundleInStep && lineInStep) return { kind: 'unchanged' };

  if (facts.refused?.digest === wanted.bundleDigest) return { kind: 'failed', error: facts.refused.error, cleanup: cleanupAfterRefusal(facts) };

  const holdReason = rollbackHold(facts, wanted);
  if (holdReason) return { kind: 'held', reason: holdReason };

  const storeHolds = store !== undefined && store.status !== 'Empty' && sameIdentity(store.certificate?.identity, wanted.identity);
  if (!storeHolds && facts.commandBytes > facts.maxCommandBytes) {
    const error = new BundleTooLargeError(
      `lineage ${facts.name}: "set ssl cert" with this bundle is ${facts.commandBytes} bytes; target ${facts.target} takes at most ${facts.maxCommandBytes} (maxCommandBytes, below HAProxy's tune.bufsize)`,
      { lineage: facts.name, target: facts.target },
    );
    return { kind: 'failed', error, cleanup: [] };
  }

  const steps: Step[] = [];
  if (!bundleInStep) steps.push('write-bundle');
  if (store === undefined) steps.push('new-store');
  if (!storeHolds) steps.push('swap');
  const listed = store?.status === 'Used';
  if (!listed) steps.push('add-runtime-line');
  else if (!runtimeOnly && files.crtListLine === 'differs') steps.push('replace-runtime-line');
  steps.push('verify');
  if (!lineInStep) steps.push('write-crt-list-line');

  const outcome = listed ? 'deployed' : 'added';
  if (storeHolds && listed && files.crtListLine !== 'differs') {
    const repaired = [...(bundleInStep ? [] : ['bundle file']), ...(lineInStep ? [] : ['crt-list line'])];
    return { kind: 'apply', outcome, steps, reason: `served already; ${repaired.join(' and ')} brought in step` };
  }
  return { kind: 'apply', outcome, steps };
}

/**
 * Certbot can move its links back to an older version (certbot #10655, ensure_deployed): never replace what hotcert
 * itself last deployed (its bundle file, or its memory for a runtime-only target) by an older certificate unless the
 * operator forces it. What an HAProxy store holds is not the reference: it may be another writer's certificate, and
 * a reference that is not valid now, or names none of the source's names, is not one either.
 */
function rollbackHold(facts: DeployFacts, wanted: { readonly notBefore: Date; readonly dnsNames: readonly string[]; readonly identity: CertificateSummary['identity'] }): string | undefined {
  if (facts.force) return undefined;
  const reference = facts.runtimeOnly ? facts.lastDeployed : facts.files.bundle?.certificate;
  if (!reference?.notBefore || !reference.notAfter || sameIdentity(reference.identity, wanted.identity)) return undefined;
  const now = facts.now.getTime();
  if (reference.notBefore.getTime() > now + facts.clockSkewMs || reference.notAfter.getTime() <= now) return undefined;
  if (!reference.dnsNames.some((name) => wanted.dnsNames.includes(name))) return undefined;
  if (wanted.notBefore.getTime() >= reference.notBefore.getTime()) return undefined;
  return `the source holds a certificate older (notBefore ${wanted.notBefore.toISOString()}) than the one hotcert deployed (notBefore ${reference.notBefore.toISOString()}); not rolled back without --force`;
}

/**
 * After HAProxy refused a bundle: a store hotcert made for it and that serves nothing goes, and the bundle file is
 * put back unless another target serves the new certificate (then the file is right for that one). When what the
 * file held before is not known (hotcert stopped between writing and committing), the new bundle stays: it passed
 * the gate, and a restart loads it.
 */
function cleanupAfterRefusal(facts: DeployFacts): Step[] {
  const steps: Step[] = [];
  if (facts.refused?.createdStore && facts.store !== undefined && facts.store.status !== 'Used') steps.push('delete-store');
  const wrote = facts.source.kind === 'ready' && facts.files.bundle?.digest === facts.source.certificate.bundleDigest;
  if (!facts.runtimeOnly && wrote && !facts.servedElsewhere && facts.previousBundle !== 'unknown') {
    if (facts.previousBundle === 'none' && facts.files.crtListLine !== 'absent') steps.push('remove-crt-list-line');
    steps.push('restore-bundle');
  }
  return steps;
}

/**
 * Taking a certificate the source no longer has out of a target (only with deploy.removeDeleted): its runtime
 * crt-list entries, then the store, then the file's line, then the bundle file, so that a line never names a file
 * that is gone. HAProxy refuses to delete the default certificate of a bind; that refusal stops the removal.
 */
export function planRemoval(facts: Pick<DeployFacts, 'store' | 'files' | 'runtimeOnly'>): readonly Step[] {
  const steps: Step[] = [];
  if (facts.store) {
    if (facts.store.status === 'Used') steps.push('remove-runtime-lines');
    steps.push('delete-store');
  }
  if (!facts.runtimeOnly) {
    if (facts.files.crtListLine !== 'absent') steps.push('remove-crt-list-line');
    if (facts.files.bundle) steps.push('remove-bundle');
  }
  return steps;
}
