import { join } from 'node:path';
import type { LineageAssessment, LineageSnapshot } from '../sources/certbot/lineage-snapshot.js';
import type { QuickLook } from '../sources/certbot/quick-look.js';
import type { BundleFiles } from '../haproxy/bundle-files.js';
import { setCommandBytes } from '../core/bundle.js';
import type { LineageOptions, TargetConfig } from '../config/schema.js';
import { BundleTooLargeError, LineageInvalidError, RuntimeCommandError } from '../errors.js';
import { formatCrtListLine, type CrtListLine } from '../haproxy/crt-list-file.js';
import type { CertStoreDetails } from '../haproxy/cert-replies.js';
import type { CrtListStore } from '../haproxy/crt-list-store.js';
import type { RuntimeClient } from '../haproxy/runtime-client.js';
import { decide, type Plan } from '../core/plan-deploy.js';
import type { Outcome } from '../core/outcome.js';
import type { ServedStateLoader } from './served-state-loader.js';
import type { TransactionGuard } from '../haproxy/transaction-guard.js';

/** A lineage as read for one sync: a cheap look first; the full assessment only when a target needs it. */
export interface PreparedLineage {
  readonly name: string;
  readonly quick: QuickLook | undefined;
  /** Reads and checks the whole lineage (memoized across targets). */
  readonly full: () => Promise<{ readonly assessment: LineageAssessment; readonly bundle: string | undefined }>;
}

export interface DeployOptions {
  readonly force: boolean;
  readonly dryRun: boolean;
}

/** Everything one target's deploys need; built once per target by the engine. */
export interface TargetContext {
  readonly target: TargetConfig;
  readonly client: RuntimeClient;
  readonly guard: TransactionGuard;
  readonly bundles: BundleFiles;
  readonly crtList: CrtListStore;
  readonly lineageOptions: (lineage: string) => LineageOptions;
  /** Reads what HAProxy holds for a store, batched with other deploys' reads. */
  readonly servedState: ServedStateLoader;
  /** Runs `work` in the target's serial slot: one transaction at a time per HAProxy process. */
  readonly inSlot: <T>(work: () => Promise<T>) => Promise<T>;
  /** Lineages whose current bundle some target has committed in this process (restoring it would undo that). */
  readonly committedBundles: Map<string, string>;
}

export interface DeployResult extends Outcome {
  /** With --dry-run: the steps that would run, as runtime commands without payloads and file edits. */
  readonly plannedSteps?: readonly string[];
}

/** The bundle was refused by HAProxy itself (set or commit), as opposed to HAProxy being unreachable. */
class BundleRejected extends Error {}

/**
 * Makes one target serve one lineage as Certbot's live dir holds it: decide from what HAProxy and hotcert's files
 * hold, write the bundle (previous kept), swap it in a guarded transaction, keep the crt-list in step, verify.
 * Never throws: every problem becomes a `failed` outcome carrying its error.
 */
export async function deployToTarget(prepared: PreparedLineage, context: TargetContext, options: DeployOptions, startedMs: number): Promise<DeployResult> {
  const { target } = context;
  const base = { lineage: prepared.name, target: target.name };
  const elapsed = (): number => Date.now() - startedMs;
  const storePath = join(target.bundlesDir, `${prepared.name}.pem`);
  const lineOptions = context.lineageOptions(prepared.name);
  const wantedLine: CrtListLine = {
    path: storePath,
    sniFilters: lineOptions.sniFilters,
    ...(lineOptions.sslOptions ? { sslOptions: lineOptions.sslOptions } : {}),
  };

  // Every runtime command of a target runs in its slot: HAProxy 2.6 takes its certificate lock for `show ssl cert`
  // too, so a read beside another client's `set` makes one of them fail with "currently locked".
  let served: CertStoreDetails | undefined;
  try {
    served = await context.servedState.load(storePath);
    if (await isPlainlyUnchanged(prepared, served, wantedLine, context)) {
      return { ...base, kind: 'unchanged', durationMs: elapsed(), ...(served?.serial ? { serial: served.serial } : {}), ...(served?.notAfter ? { notAfter: served.notAfter } : {}) };
    }
  } catch (error) {
    return { ...base, kind: 'failed', reason: (error as Error).message, error, durationMs: elapsed() };
  }

  const { assessment, bundle: fullBundle } = await prepared.full();
  if (assessment.kind === 'not-ready') return { ...base, kind: 'not-ready', reason: assessment.reason, durationMs: elapsed() };
  if (assessment.kind === 'invalid') {
    const error = new LineageInvalidError(`lineage ${prepared.name}: ${assessment.reason}`, {
      lineage: prepared.name,
      ...(assessment.file ? { file: assessment.file } : {}),
    });
    return { ...base, kind: 'failed', reason: assessment.reason, error, durationMs: elapsed() };
  }
  const snapshot = assessment.snapshot;
  const bundle = fullBundle as string;
  const facts = { serial: snapshot.serial, notAfter: snapshot.notAfter };

  const bytes = setCommandBytes(storePath, bundle);
  if (bytes > target.maxCommandBytes) {
    const error = new BundleTooLargeError(
      `lineage ${prepared.name}: "set ssl cert" with this bundle is ${bytes} bytes; target ${target.name} takes at most ${target.maxCommandBytes} (maxCommandBytes, below HAProxy's tune.bufsize)`,
      { lineage: prepared.name, target: target.name },
    );
    return { ...base, ...facts, kind: 'failed', reason: error.message, error, durationMs: elapsed() };
  }

  let wroteBundle = false;
  let previousBundle: string | undefined;
  try {
    const diskBundle = target.runtimeOnly ? bundle : context.bundles.read(prepared.name);
    const fileLine = target.runtimeOnly ? 'present' : await context.crtList.lineState(wantedLine);
    const plan = decide({
      snapshot,
      served: served && { serial: served.serial, notBefore: served.notBefore, status: served.status },
      bundleOnDisk: diskBundle === bundle,
      crtListFileLine: fileLine,
      runtimeOnly: target.runtimeOnly,
      force: options.force,
    });
    if (plan.kind === 'unchanged') return { ...base, ...facts, kind: 'unchanged', durationMs: elapsed() };
    if (plan.kind === 'held') return { ...base, ...facts, kind: 'held', reason: plan.reason, durationMs: elapsed() };
    if (options.dryRun) {
      return {
        ...base,
        ...facts,
        kind: plan.outcome,
        durationMs: elapsed(),
        plannedSteps: describePlan(plan, prepared.name, storePath, bundle, wantedLine, context),
        ...(plan.reason ? { reason: plan.reason } : {}),
      };
    }

    if (plan.writeBundle) {
      previousBundle = diskBundle;
      await context.bundles.write(prepared.name, bundle);
      wroteBundle = true;
    }
    const stagedLine = plan.crtListFile === 'write' && (await context.crtList.stageLine(wantedLine));
    await context.inSlot(() => applyRuntime(plan, snapshot, bundle, storePath, wantedLine, context, Boolean(stagedLine)));
    context.committedBundles.set(prepared.name, snapshot.serial);
    if (stagedLine) await context.crtList.flush();
    return { ...base, ...facts, kind: plan.outcome, durationMs: elapsed(), ...(plan.reason ? { reason: plan.reason } : {}) };
  } catch (error) {
    const cause = error instanceof BundleRejected ? error.cause : error;
    // Disk and runtime must agree: a bundle HAProxy refused must not be loaded at its next reload instead.
    if (wroteBundle && error instanceof BundleRejected && context.committedBundles.get(prepared.name) !== snapshot.serial) {
      await context.bundles.restore(prepared.name, previousBundle);
    }
    return { ...base, ...facts, kind: 'failed', reason: (cause as Error).message, error: cause, durationMs: elapsed() };
  }
}

/**
 * The cheap "nothing changed" test: the lineage is at rest, HAProxy serves its leaf (same SHA-1), in use and not
 * expired, and hotcert's files hold exactly this bundle and line. Anything else takes the full path.
 */
async function isPlainlyUnchanged(prepared: PreparedLineage, served: CertStoreDetails | undefined, line: CrtListLine, context: TargetContext): Promise<boolean> {
  const quick = prepared.quick;
  if (!quick || !served || served.status !== 'Used' || served.sha1Fingerprint !== quick.leafSha1) return false;
  if (!served.notAfter || served.notAfter.getTime() <= Date.now()) return false;
  if (context.target.runtimeOnly) return true;
  return context.bundles.read(prepared.name) === quick.bundle && (await context.crtList.lineState(line)) === 'present';
}

async function applyRuntime(
  plan: Extract<Plan, { kind: 'apply' }>,
  snapshot: LineageSnapshot,
  bundle: string,
  storePath: string,
  wantedLine: CrtListLine,
  context: TargetContext,
  stagedLine: boolean,
): Promise<void> {
  const { client } = context;
  let after: CertStoreDetails | undefined;
  if (plan.runtime !== 'none') {
    await context.guard.waitUntilClear();
    if (plan.runtime === 'create') await client.newCert(storePath);
    after = await swapInTransaction(snapshot, bundle, storePath, context);
  }
  const line = formatCrtListLine(wantedLine);
  try {
    if (plan.runtimeCrtList === 'add') {
      await client.addCrtListLine(context.target.crtList, line);
    } else if (plan.runtimeCrtList === 'replace') {
      // Add the new line before removing the old one, so the names are never without a certificate.
      const before = await client.showCrtListEntries(context.target.crtList);
      await client.addCrtListLine(context.target.crtList, line);
      for (const entry of before.filter((candidate) => candidate.path === storePath)) {
        await client.delCrtListEntry(context.target.crtList, `${storePath}:${entry.line}`);
      }
    }
  } catch (error) {
    if (stagedLine) await context.crtList.removeLine(storePath);
    throw error;
  }
  // The commit's own `show` is the verification, unless the crt-list changed after it.
  const served = after && plan.runtimeCrtList === 'none' ? after : await client.showCert(storePath);
  if (served?.serial !== snapshot.serial || served.status !== 'Used') {
    throw new RuntimeCommandError(
      `target ${context.target.name}: after the deploy HAProxy holds serial ${served?.serial ?? 'none'} (status ${served?.status ?? 'unknown'}) for ${storePath}, not ${snapshot.serial} in use`,
      '',
      { target: context.target.name, lineage: snapshot.name, file: storePath },
    );
  }
}

/** set → check the transaction holds our certificate → commit; abort on any doubt. Returns the store after it. */
async function swapInTransaction(snapshot: LineageSnapshot, bundle: string, storePath: string, context: TargetContext): Promise<CertStoreDetails | undefined> {
  const { client, target } = context;
  let opened: { created: boolean; path: string };
  try {
    opened = await client.setCert(storePath, bundle);
  } catch (error) {
    throw new BundleRejected('set refused', { cause: error });
  }
  if (opened.path !== storePath) {
    // HAProxy put our certificate into another client's open transaction: committing it would serve our certificate
    // for that client's names, so it is aborted.
    await client.abortCert(opened.path);
    throw new RuntimeCommandError(
      `target ${target.name}: a transaction on ${opened.path} was opened by another client while deploying ${storePath}; it received this certificate and was aborted`,
      '',
      { target: target.name, lineage: snapshot.name, file: opened.path },
    );
  }
  const pending = await client.showCert(storePath, { transaction: true });
  if (pending?.serial !== snapshot.serial) {
    await client.abortCert(storePath);
    throw new RuntimeCommandError(
      `target ${target.name}: the transaction on ${storePath} holds serial ${pending?.serial ?? 'none'}, not ${snapshot.serial}; aborted`,
      '',
      { target: target.name, lineage: snapshot.name, file: storePath },
    );
  }
  try {
    const committed = await client.commitCertAndShow(storePath);
    if (committed.openTransaction === null) context.guard.noteClear();
    return committed.details;
  } catch (error) {
    if (error instanceof RuntimeCommandError && error.reply.startsWith('No ongoing transaction')) {
      // The transaction vanished: another client aborted it, or HAProxy reloaded (a new worker has no
      // transaction but loaded the bundle already on disk). Either way, what is served now decides.
      const served = await client.showCert(storePath);
      if (served?.serial === snapshot.serial) return served;
    }
    const abortFailure = await client.abortCert(storePath).then(
      () => undefined,
      (abortError: unknown) => abortError as Error,
    );
    if (abortFailure) {
      throw new BundleRejected('commit refused', {
        cause: new RuntimeCommandError(
          `${(error as Error).message}; "abort ssl cert ${storePath}" failed too: ${abortFailure.message}`,
          error instanceof RuntimeCommandError ? error.reply : '',
          { target: target.name, lineage: snapshot.name, file: storePath },
          { cause: error },
        ),
      });
    }
    throw new BundleRejected('commit refused', { cause: error });
  }
}

function describePlan(
  plan: Extract<Plan, { kind: 'apply' }>,
  lineage: string,
  storePath: string,
  bundle: string,
  line: CrtListLine,
  context: TargetContext,
): string[] {
  const list = context.target.crtList;
  const steps: string[] = [];
  if (plan.writeBundle) steps.push(`write ${context.bundles.pathOf(lineage)} (${Buffer.byteLength(bundle)} bytes)`);
  if (plan.runtime === 'create') steps.push(`new ssl cert ${storePath}`);
  if (plan.runtime !== 'none') steps.push(`set ssl cert ${storePath} <<(bundle, ${Buffer.byteLength(bundle)} bytes)`, `commit ssl cert ${storePath}`);
  if (plan.crtListFile === 'write') steps.push(`crt-list file ${context.crtList.path}: "${formatCrtListLine(line)}"`);
  if (plan.runtimeCrtList !== 'none') steps.push(`add ssl crt-list ${list} <<(${formatCrtListLine(line)})`);
  if (plan.runtimeCrtList === 'replace') steps.push(`del ssl crt-list ${list} ${storePath}:<old line>`);
  return steps;
}
