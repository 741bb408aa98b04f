import { sameIdentity, type CertIdentity } from '../core/cert-identity.js';
import { setCommandBytes } from '../core/bundle.js';
import type { GatedCertificate } from '../core/certificate-gate.js';
import { summaryOf } from '../core/certificate-summary.js';
import type { DeployFacts, FileFacts, Refusal, SourceFacts } from '../core/facts.js';
import type { Outcome } from '../core/outcome.js';
import { planDeploy, planRemoval } from '../core/plan-deploy.js';
import { planFallback } from '../core/plan-fallback.js';
import type { Step } from '../core/steps.js';
import type { LineageOptions } from '../config/schema.js';
import { CleanupFailedError, HotcertError } from '../errors.js';
import { storeFacts, type CertStoreDetails } from '../haproxy/cert-replies.js';
import { crtListLineFor, formatCrtListLine, type CrtListLine } from '../haproxy/crt-list-file.js';
import type { HotcertFiles } from '../haproxy/hotcert-files.js';
import type { QuickLook } from '../sources/source.js';
import { applySteps, type FallbackEffects, type StepContext, type StepResult } from './apply-steps.js';
import type { TargetSlot } from './target-slot.js';

export interface ReconcileOptions {
  /** Deploy even a certificate older than the one hotcert deployed (Certbot rolled its links back). */
  readonly force: boolean;
  /** Plan, print the steps, touch nothing. */
  readonly dryRun: boolean;
}

/**
 * How a certificate is read: `quick-first` takes the source's cheap look and reads in full only when that does not
 * show it unchanged (a pass over many certificates, most unchanged); `full` reads in full at once (one that was
 * reported changed, where the cheap look would be work thrown away).
 */
export type CertificateReading = 'quick-first' | 'full';

/** One certificate as read for a reconcile: the cheap look and the full read, each memoized across targets. */
export interface CertificateRead {
  readonly name: string;
  readonly reading: CertificateReading;
  readonly quick: () => QuickLook | undefined;
  readonly source: () => Promise<SourceFacts>;
}

export interface ReconcilerParts {
  readonly files: HotcertFiles;
  readonly lineageOptions: (name: string) => LineageOptions;
  readonly clockSkewMs: number;
  readonly now: () => number;
  /** Another target that reads hotcert's files was last seen serving this certificate. */
  readonly servedElsewhere: (name: string, identity: CertIdentity, except: TargetSlot) => boolean;
}

/** An outcome, with the planned steps of a dry run. */
export interface DeployResult extends Outcome {
  readonly plannedSteps?: readonly string[];
}

// A deploy whose outcome stays unclear this many times in a row (no reply, or HAProxy holding something else each
// time) is reported as failed, and retried later.
const MAX_UNCLEAR_ROUNDS = 3;

/**
 * Makes one target serve what the source holds under one name, with hotcert's files in step: gather the facts
 * (the source, hotcert's files, what the target holds), plan with the pure planner, apply the steps, and after a
 * step that failed or whose outcome is unclear, gather again and plan again. Never throws: every problem is an
 * outcome carrying its error.
 */
export class Reconciler {
  constructor(private readonly parts: ReconcilerParts) {}

  /** @returns undefined when the source no longer has the certificate (a removal is the caller's decision). */
  async deploy(read: CertificateRead, slot: TargetSlot, options: ReconcileOptions): Promise<DeployResult | undefined> {
    const startedMs = this.parts.now();
    const base = { lineage: read.name, target: slot.name };
    const elapsed = (): number => this.parts.now() - startedMs;
    const line = this.wantedLine(read.name, slot);
    let served: CertStoreDetails | undefined;
    try {
      served = await slot.served.load(line.path);
    } catch (error) {
      return { ...base, kind: 'failed', reason: (error as Error).message, error, durationMs: elapsed() };
    }
    slot.lastSeen.set(read.name, identityOf(served));
    const plainly = async (): Promise<DeployResult | undefined> => {
      try {
        if (!(await this.plainlyUnchanged(read, served, line, slot))) return undefined;
        return { ...base, kind: 'unchanged', durationMs: elapsed(), ...(served?.serial ? { serial: served.serial } : {}), ...(served?.notAfter ? { notAfter: served.notAfter } : {}) };
      } catch (error) {
        return { ...base, kind: 'failed', reason: (error as Error).message, error, durationMs: elapsed() };
      }
    };
    if (read.reading === 'quick-first') {
      const verdict = await plainly();
      if (verdict) return verdict;
    }

    const source = await read.source();
    if (source.kind === 'absent') return undefined;
    // One outcome whichever way the certificate is read: the cheap look finds unchanged some lineages the full read
    // does not call ready (a chain.pem that no longer matches fullchain.pem, while what is served and in hotcert's
    // files is fullchain's), so a full read that finds it not ready asks the cheap look too.
    if (read.reading === 'full' && source.kind !== 'ready') {
      const verdict = await plainly();
      if (verdict) return verdict;
    }
    const certificate = source.kind === 'ready' ? source.certificate : undefined;
    const facts = certificate ? { serial: certificate.serial, notAfter: certificate.notAfter } : {};
    const context = this.context(read.name, certificate, line, slot);
    let refused: Refusal | undefined;
    let unclearRounds = 0;
    // What the first plan set out to do: when a later gather finds it done (a commit whose reply was lost), that is the outcome.
    let intended: { outcome: 'added' | 'deployed'; reason?: string } | undefined;
    for (;;) {
      let plan;
      try {
        plan = planDeploy(await this.gather(read.name, source, served, slot, context, refused, options));
      } catch (error) {
        return { ...base, ...facts, kind: 'failed', reason: (error as Error).message, error, durationMs: elapsed() };
      }
      switch (plan.kind) {
        case 'unchanged':
          if (intended) {
            slot.deployed.set(read.name, summaryOf(certificate as GatedCertificate));
            return { ...base, ...facts, kind: intended.outcome, durationMs: elapsed(), ...(intended.reason ? { reason: intended.reason } : {}) };
          }
          return { ...base, ...facts, kind: 'unchanged', durationMs: elapsed() };
        case 'not-ready':
        case 'held':
          return { ...base, ...facts, kind: plan.kind, reason: plan.reason, durationMs: elapsed() };
        case 'failed': {
          const cleanup = options.dryRun || plan.cleanup.length === 0 ? undefined : await applySteps(plan.cleanup, context);
          const error = cleanup && cleanup.kind !== 'done' ? withCleanupFailure(plan.error, cleanup) : plan.error;
          return { ...base, ...facts, kind: 'failed', reason: error.message, error, durationMs: elapsed() };
        }
        case 'apply': {
          if (options.dryRun) {
            return { ...base, ...facts, kind: plan.outcome, durationMs: elapsed(), dryRun: true, plannedSteps: describeSteps(plan.steps, context), ...(plan.reason ? { reason: plan.reason } : {}) };
          }
          intended ??= { outcome: plan.outcome, ...(plan.reason ? { reason: plan.reason } : {}) };
          const result = await applySteps(plan.steps, context);
          if (result.kind === 'done') {
            slot.deployed.set(read.name, summaryOf(certificate as GatedCertificate));
            return { ...base, ...facts, kind: intended.outcome, durationMs: elapsed(), ...(intended.reason ? { reason: intended.reason } : {}) };
          }
          if (result.kind === 'failed') return { ...base, ...facts, kind: 'failed', reason: result.error.message, error: result.error, durationMs: elapsed() };
          if (result.kind === 'refused') {
            refused = { digest: (certificate as GatedCertificate).bundleDigest, error: result.error, createdStore: context.createdStore };
          } else if (++unclearRounds >= MAX_UNCLEAR_ROUNDS) {
            return { ...base, ...facts, kind: 'failed', reason: result.error.message, error: result.error, durationMs: elapsed() };
          }
          try {
            served = await slot.inSlot(() => slot.client.showCert(line.path));
          } catch (error) {
            return { ...base, ...facts, kind: 'failed', reason: (error as Error).message, error, durationMs: elapsed() };
          }
          slot.lastSeen.set(read.name, identityOf(served));
        }
      }
    }
  }

  /**
   * The reload fallback, for a container target whose runtime API cannot be used at all: the same rules (not
   * ready, invalid, held back), hotcert's files in step, then the container's reload signal unless a TLS handshake
   * shows it serves the certificate already.
   */
  async deployByReload(read: CertificateRead, slot: TargetSlot, fallback: FallbackEffects & { servedLeafSha1(servername: string): Promise<string | undefined> }): Promise<DeployResult | undefined> {
    const startedMs = this.parts.now();
    const base = { lineage: read.name, target: slot.name };
    const elapsed = (): number => this.parts.now() - startedMs;
    const source = await read.source();
    if (source.kind === 'absent') return undefined;
    const certificate = source.kind === 'ready' ? source.certificate : undefined;
    const facts = certificate ? { serial: certificate.serial, notAfter: certificate.notAfter } : {};
    const line = this.wantedLine(read.name, slot);
    const context = { ...this.context(read.name, certificate, line, slot), fallback };
    try {
      const servername = (certificate?.dnsNames[0] ?? read.name).replace(/^\*\./, 'hotcert-check.');
      const handshakeLeafSha1 = certificate ? await fallback.servedLeafSha1(servername) : undefined;
      const plan = planFallback({ ...(await this.gather(read.name, source, undefined, slot, context, undefined, { force: false, dryRun: false })), handshakeLeafSha1 });
      if (plan.kind === 'unchanged') return { ...base, ...facts, kind: 'unchanged', reason: 'served already (read by a TLS handshake: the runtime API cannot be used)', durationMs: elapsed() };
      if (plan.kind === 'not-ready' || plan.kind === 'held') return { ...base, ...facts, kind: plan.kind, reason: plan.reason, durationMs: elapsed() };
      if (plan.kind === 'failed') return { ...base, ...facts, kind: 'failed', reason: plan.error.message, error: plan.error, durationMs: elapsed() };
      const result = await applySteps(plan.steps, context);
      if (result.kind !== 'done') return { ...base, ...facts, kind: 'failed', reason: result.error.message, error: result.error, durationMs: elapsed() };
      const reloaded = plan.steps.includes('reload');
      return { ...base, ...facts, kind: reloaded ? 'reloaded' : 'unchanged', reason: reloaded ? 'runtime API unavailable: files written and the container reloaded' : 'served already; hotcert\'s files brought in step', durationMs: elapsed() };
    } catch (error) {
      return { ...base, ...facts, kind: 'failed', reason: (error as Error).message, error, durationMs: elapsed() };
    }
  }

  /**
   * Takes a certificate the source no longer has out of a target: its runtime crt-list entries, its store, then the
   * file's line and the bundle file. @returns whether HAProxy had it. @throws what HAProxy or the disk refused.
   */
  async remove(name: string, slot: TargetSlot): Promise<boolean> {
    const line = this.wantedLine(name, slot);
    const served = await slot.inSlot(() => slot.client.showCert(line.path));
    const files: FileFacts = slot.target.runtimeOnly ? { bundle: undefined, crtListLine: 'absent' } : await this.parts.files.facts(name, line, { served: storeFacts(served)?.certificate });
    const steps = planRemoval({ store: storeFacts(served), files, runtimeOnly: slot.target.runtimeOnly });
    const result = await applySteps(steps, this.context(name, undefined, line, slot));
    if (result.kind !== 'done') throw result.error;
    slot.lastSeen.delete(name);
    slot.deployed.delete(name);
    return served !== undefined;
  }

  private wantedLine(name: string, slot: TargetSlot): CrtListLine {
    return crtListLineFor(slot.storePath(name), this.parts.lineageOptions(name));
  }

  private context(name: string, certificate: GatedCertificate | undefined, line: CrtListLine, slot: TargetSlot): StepContext {
    return { name, certificate, line, slot, files: this.parts.files, previousBundle: undefined, createdStore: false, afterSwap: undefined };
  }

  /**
   * The cheap "nothing changed" test: the certificate is at rest in the source, HAProxy serves its leaf and chain,
   * in use and not expired, and hotcert's files hold exactly this bundle and line. Anything else is planned.
   */
  private async plainlyUnchanged(read: CertificateRead, served: CertStoreDetails | undefined, line: CrtListLine, slot: TargetSlot): Promise<boolean> {
    const quick = read.quick();
    if (!quick || served?.status !== 'Used' || !sameIdentity(identityOf(served), quick.identity)) return false;
    if (!served.notAfter || served.notAfter.getTime() <= this.parts.now()) return false;
    if (slot.target.runtimeOnly) return true;
    return this.parts.files.readBundle(read.name) === quick.bundle && (await this.parts.files.crtList.lineState(line)) === 'present';
  }

  private async gather(
    name: string,
    source: SourceFacts,
    served: CertStoreDetails | undefined,
    slot: TargetSlot,
    context: StepContext,
    refused: Refusal | undefined,
    options: ReconcileOptions,
  ): Promise<DeployFacts> {
    const certificate = source.kind === 'ready' ? source.certificate : undefined;
    const runtimeOnly = slot.target.runtimeOnly;
    const files: FileFacts = runtimeOnly ? { bundle: undefined, crtListLine: 'present' } : await this.parts.files.facts(name, context.line, { wanted: certificate, served: storeFacts(served)?.certificate });
    return {
      name,
      target: slot.name,
      source,
      files,
      store: storeFacts(served),
      runtimeOnly,
      commandBytes: certificate ? setCommandBytes(context.line.path, certificate.bundle) : 0,
      maxCommandBytes: Math.min(slot.target.maxCommandBytes, (slot.commandLimit ?? Infinity) - 1),
      refused,
      servedElsewhere: certificate !== undefined && this.parts.servedElsewhere(name, certificate.identity, slot),
      previousBundle: context.previousBundle === undefined ? 'unknown' : context.previousBundle.text === undefined ? 'none' : 'kept',
      lastDeployed: slot.deployed.get(name),
      force: options.force,
      now: new Date(this.parts.now()),
      clockSkewMs: this.parts.clockSkewMs,
    };
  }
}

function identityOf(details: CertStoreDetails | undefined): CertIdentity | undefined {
  return details?.sha1Fingerprint ? { leafSha1: details.sha1Fingerprint, chain: details.chain } : undefined;
}

function withCleanupFailure(error: Error, cleanup: Exclude<StepResult, { kind: 'done' }>): Error {
  const subject = error instanceof HotcertError ? error.subject : {};
  return new CleanupFailedError(`${error.message}; undoing what the attempt left failed too: ${cleanup.error.message}`, subject, { cause: cleanup.error });
}

/** A dry run's steps, as runtime commands without payloads and file edits. */
function describeSteps(steps: readonly Step[], context: StepContext): string[] {
  const { line, slot, files, name } = context;
  const bundleBytes = Buffer.byteLength(context.certificate?.bundle ?? '');
  const list = slot.target.crtList;
  const text = formatCrtListLine(line);
  const words: Record<Step, string> = {
    'write-bundle': `write ${files.bundlePath(name)} (${bundleBytes} bytes)`,
    'new-store': `new ssl cert ${line.path}`,
    swap: `set ssl cert ${line.path} <<(bundle, ${bundleBytes} bytes); commit ssl cert ${line.path}`,
    'add-runtime-line': `add ssl crt-list ${list} <<(${text})`,
    'replace-runtime-line': `add ssl crt-list ${list} <<(${text}); del ssl crt-list ${list} ${line.path}:<old line>`,
    verify: `show ssl cert ${line.path}`,
    'write-crt-list-line': `crt-list file ${files.crtList.path}: "${text}"`,
    'delete-store': `del ssl cert ${line.path}`,
    'restore-bundle': `restore ${files.bundlePath(name)}`,
    'remove-runtime-lines': `del ssl crt-list ${list} ${line.path}:<line>`,
    'remove-crt-list-line': `crt-list file ${files.crtList.path}: remove ${line.path}`,
    'remove-bundle': `remove ${files.bundlePath(name)}`,
    reload: `reload container ${slot.target.docker?.container ?? ''}`,
    'verify-by-handshake': 'TLS handshake',
  };
  return steps.map((step) => words[step]);
}
