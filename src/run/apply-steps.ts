import { identityDifference, sameIdentity } from '../core/cert-identity.js';
import type { GatedCertificate } from '../core/certificate-gate.js';
import { RUNTIME_CHANGES, type Step } from '../core/steps.js';
import { setCommandBytes } from '../core/bundle.js';
import { CommandTooLargeError, RuntimeCommandError, isUnclearOutcome, isUnreachable } from '../errors.js';
import type { CertStoreDetails } from '../haproxy/cert-replies.js';
import { formatCrtListLine, type CrtListLine } from '../haproxy/crt-list-file.js';
import type { HotcertFiles } from '../haproxy/hotcert-files.js';
import { Opening, type TargetSlot } from './target-slot.js';

/**
 * How a step ended: done; refused by HAProxy (this bundle will not pass here: plan a cleanup); unclear (sent, no
 * full reply, or what HAProxy holds is not what was expected: gather the facts again); or failed for a reason a
 * new plan does not change now (a full disk, an unreachable target).
 */
export type StepResult =
  | { readonly kind: 'done' }
  | { readonly kind: 'refused'; readonly error: Error }
  | { readonly kind: 'unclear'; readonly error: Error }
  | { readonly kind: 'failed'; readonly error: Error };

/** The reload fallback's two effects, for a container target whose runtime API cannot be used. */
export interface FallbackEffects {
  reload(): Promise<void>;
  /** Polls TLS handshakes until the container serves a leaf with this SHA-1, or its deadline passes. */
  awaitServed(leafSha1: string): Promise<void>;
}

/** What the steps of one plan work on, and what they learn on the way. */
export interface StepContext {
  readonly name: string;
  /** The source's certificate (undefined for a removal). */
  readonly certificate: GatedCertificate | undefined;
  readonly line: CrtListLine;
  readonly slot: TargetSlot;
  readonly files: HotcertFiles;
  readonly fallback?: FallbackEffects;
  /** What the bundle file held before this reconcile first wrote it ('none': no file); undefined until then. */
  previousBundle: { readonly text: string | undefined } | undefined;
  /** `new ssl cert` made the store in this reconcile. */
  createdStore: boolean;
  /** The store as the swap's commit left it (its `show` rode with the commit). */
  afterSwap: CertStoreDetails | undefined;
  /** The swap's set, when the slot turn before it may send it ahead (see Opening). */
  opening?: Opening | undefined;
  /** The steps that follow the swap in its slot turn: only when they touch no store may the next turn's set go ahead. */
  stepsAfterSwap?: readonly Step[];
  /** The swap makes its store first (`new ssl cert` in the same write as the set). */
  storeWithSet?: boolean;
  /** The step after the swap adds the store's line: it may go in the commit's write (see commitCertAndShow). */
  lineWithCommit?: boolean;
  /** The commit's write carried the store's line, and HAProxy added it. */
  listedWithCommit?: boolean;
}

/** Runs the steps in order, each run of runtime steps in one turn of the target's slot; stops at the first that does not end done. */
export async function applySteps(steps: readonly Step[], context: StepContext): Promise<StepResult> {
  for (let index = 0; index < steps.length; ) {
    const runtime = isRuntimeStep(steps[index] as Step);
    let end = index;
    while (end < steps.length && isRuntimeStep(steps[end] as Step) === runtime) end += 1;
    const group = steps.slice(index, end);
    let result: StepResult;
    if (runtime) {
      context.opening = openingOf(group, context);
      context.stepsAfterSwap = group.slice(group.indexOf('swap') + 1);
      result = await context.slot.inSlot(() => runGroup(group, context), context.opening);
    } else {
      result = await runGroup(group, context);
    }
    if (result.kind !== 'done') return result;
    index = end;
  }
  return { kind: 'done' };
}

/** The set a runtime turn begins with, for the turn before it to send ahead. */
function openingOf(group: readonly Step[], context: StepContext): Opening | undefined {
  const certificate = context.certificate;
  if (!certificate) return undefined;
  if (group[0] === 'swap') return new Opening(context.line.path, certificate.bundle, 'transaction');
  if (group[0] === 'new-store' && group[1] === 'swap') return new Opening(context.line.path, certificate.bundle, 'store');
  return undefined;
}

function isRuntimeStep(step: Step): boolean {
  return RUNTIME_CHANGES.has(step) || step === 'verify' || step === 'delete-store' || step === 'remove-runtime-lines';
}

async function runGroup(steps: readonly Step[], context: StepContext): Promise<StepResult> {
  for (const [index, step] of steps.entries()) {
    // A new store goes in the same write as its first set (sent ahead, or in this turn) when that set is of a size
    // the target took before.
    if (step === 'new-store' && steps[index + 1] === 'swap' && context.certificate && (context.opening?.answer !== undefined || setCommandBytes(context.line.path, context.certificate.bundle) <= context.slot.largestSetBytes)) {
      context.storeWithSet = true;
      continue;
    }
    if (step === 'swap' && steps[index + 1] === 'add-runtime-line') context.lineWithCommit = true;
    if (step === 'add-runtime-line' && context.listedWithCommit) continue;
    let result: StepResult;
    try {
      result = await runStep(step, context);
    } catch (error) {
      result = classify(step, error as Error);
    }
    if (result.kind !== 'done') return result;
  }
  return { kind: 'done' };
}

// What an error means for the plan. A refusal is HAProxy saying no to this bundle or line (set, commit, add ssl
// crt-list); a commit answered "No ongoing transaction" did not fail for sure (the transaction may have been
// committed by a reload's new worker, or aborted by another client): the facts decide.
function classify(step: Step, error: Error): StepResult {
  if (isUnclearOutcome(error)) return { kind: 'unclear', error };
  if (isUnreachable(error)) return { kind: 'failed', error };
  if (error instanceof RuntimeCommandError) {
    if (error.reply.startsWith('No ongoing transaction')) return { kind: 'unclear', error };
    if (step === 'swap' || step === 'new-store' || step === 'add-runtime-line' || step === 'replace-runtime-line') return { kind: 'refused', error };
  }
  if (error instanceof CommandTooLargeError) return { kind: 'refused', error };
  return { kind: 'failed', error };
}

async function runStep(step: Step, context: StepContext): Promise<StepResult> {
  const { slot, files, name, line } = context;
  const client = slot.client;
  const path = line.path;
  switch (step) {
    case 'write-bundle': {
      const previous = await files.writeBundle(name, wanted(context).bundle);
      context.previousBundle ??= { text: previous };
      return done();
    }
    case 'restore-bundle':
      await files.restoreBundle(name, context.previousBundle?.text);
      return done();
    case 'remove-bundle':
      await files.removeBundle(name);
      return done();
    case 'write-crt-list-line':
      await files.crtList.put(line);
      return done();
    case 'remove-crt-list-line':
      await files.crtList.remove(path);
      return done();
    case 'new-store':
      if ((await client.newCert(path)) === 'created') context.createdStore = true;
      return done();
    case 'swap':
      return swap(context);
    case 'add-runtime-line':
      // What the store serves once it is listed rides along: the verify that follows needs no round trip.
      context.afterSwap = await client.addCrtListLineAndShow(slot.target.crtList, formatCrtListLine(line), path);
      return done();
    case 'replace-runtime-line': {
      // The new line first, then the old ones by line number: the names never go without a certificate.
      const before = await client.showCrtListEntries(slot.target.crtList);
      await client.addCrtListLine(slot.target.crtList, formatCrtListLine(line));
      for (const entry of before.filter((candidate) => candidate.path === path)) {
        await client.delCrtListEntry(slot.target.crtList, `${path}:${entry.line}`);
      }
      context.afterSwap = undefined;
      return done();
    }
    case 'verify':
      return verify(context);
    case 'delete-store':
      await client.delCert(path);
      slot.lastSeen.delete(name);
      return done();
    case 'remove-runtime-lines':
      for (const entry of (await client.showCrtListEntries(slot.target.crtList)).filter((candidate) => candidate.path === path)) {
        await client.delCrtListEntry(slot.target.crtList, `${path}:${entry.line}`);
      }
      return done();
    case 'reload':
      await (context.fallback as FallbackEffects).reload();
      return done();
    case 'verify-by-handshake':
      await (context.fallback as FallbackEffects).awaitServed(wanted(context).identity.leafSha1);
      return done();
  }
}

/**
 * set (in the same write: what the transaction holds) → the transaction must be ours and hold this certificate →
 * commit (in the same write: the store afterwards, and whether a transaction is open). Another client's transaction
 * that received this payload is aborted; so is ours when it holds anything else. Both are unclear, not refusals:
 * the next gather sees what HAProxy holds and plans again.
 */
async function swap(context: StepContext): Promise<StepResult> {
  const { slot, line } = context;
  const certificate = wanted(context);
  const path = line.path;
  const subject = { target: slot.name, lineage: context.name, file: path };
  const ahead = context.opening?.answer;
  context.opening = undefined;
  // The context lives through every round of a reconcile: what an earlier round's commit carried says nothing now.
  context.listedWithCommit = false;
  if (ahead?.store) context.createdStore = ahead.store === 'created';
  let set;
  if (ahead?.kind === 'answered') {
    set = ahead.result;
  } else if (ahead?.kind === 'failed' && !isAnotherTransaction(ahead.error)) {
    throw ahead.error;
  } else {
    // Not sent ahead; or sent while the turn before left its transaction open (its commit failed), which 3.x
    // refuses: that one is gone now, and the guard makes sure.
    await slot.guard.waitUntilClear();
    try {
      if (context.storeWithSet) {
        context.storeWithSet = false;
        // Until HAProxy says otherwise the store is taken as made here: it did not exist when the facts were read.
        context.createdStore = true;
        const made = await slot.client.newCertAndSet(path, certificate.bundle);
        // A `new ssl cert` sent ahead may have made it already.
        context.createdStore = made.created || ahead?.store === 'created';
        set = made;
      } else {
        set = await slot.client.setCertAndShowTransaction(path, certificate.bundle);
      }
    } catch (error) {
      // Never the same size again: HAProxy 2.6.12 crashed on the second oversized command it was sent.
      if (error instanceof CommandTooLargeError) slot.commandLimit = Math.min(slot.commandLimit ?? Infinity, error.commandBytes);
      throw error;
    }
  }
  const { opened, pending } = set;
  if (opened.path !== path) {
    // HAProxy 2.6 put this certificate into another client's open transaction: committing it would serve it for
    // that client's names.
    await slot.client.abortCert(opened.path);
    return unclear(new RuntimeCommandError(`target ${slot.name}: a transaction on ${opened.path} was open while deploying ${path}; it received this certificate and was aborted`, '', { ...subject, file: opened.path }));
  }
  const pendingIdentity = pending?.sha1Fingerprint ? { leafSha1: pending.sha1Fingerprint, chain: pending.chain } : undefined;
  if (!sameIdentity(pendingIdentity, certificate.identity)) {
    await slot.client.abortCert(path);
    return unclear(new RuntimeCommandError(`target ${slot.name}: the transaction on ${path} holds ${identityDifference(certificate.identity, pendingIdentity)}; aborted`, '', subject));
  }
  slot.largestSetBytes = Math.max(slot.largestSetBytes, setCommandBytes(path, certificate.bundle));
  let committed;
  // A store made empty in this deploy gets its line in the commit's write: HAProxy lists it only if the commit applied.
  const listLine = context.lineWithCommit && context.createdStore ? { list: slot.target.crtList, line: formatCrtListLine(line) } : undefined;
  context.lineWithCommit = false;
  // Deploys waiting for what this target serves get it with the commit, and the next turn's set goes ahead when
  // nothing after the commit touches a store.
  const riders = slot.served.takeRiders();
  const ridesAlong = (step: Step): boolean => step === 'verify' || (step === 'add-runtime-line' && listLine !== undefined);
  const next = (context.stepsAfterSwap ?? []).every(ridesAlong) ? slot.nextOpening() : undefined;
  try {
    committed = await slot.client.commitCertAndShow(path, { riders: riders.paths, ...(listLine ? { listLine } : {}), ...(next ? { ahead: next } : {}) });
    riders.settle(committed.shown);
  } catch (error) {
    riders.settle(riders.paths.map(() => 'unanswered'));
    if (error instanceof RuntimeCommandError && !error.reply.startsWith('No ongoing transaction')) {
      // HAProxy refused to commit: take the transaction back so that nothing else commits it later.
      await slot.client.abortCert(path).catch(() => undefined);
    }
    throw error;
  }
  if (committed.openTransaction === null) slot.guard.noteClear();
  context.afterSwap = committed.details;
  if (committed.listed?.kind === 'added') context.listedWithCommit = true;
  // HAProxy refused the line for this certificate: a refusal, as `add ssl crt-list` on its own would be.
  if (committed.listed?.kind === 'refused') throw committed.listed.error;
  return done();
}

async function verify(context: StepContext): Promise<StepResult> {
  const { slot, line, name } = context;
  const certificate = wanted(context);
  const served = context.afterSwap ?? (await slot.client.showCert(line.path));
  const identity = served?.sha1Fingerprint ? { leafSha1: served.sha1Fingerprint, chain: served.chain } : undefined;
  slot.lastSeen.set(name, identity);
  if (served?.status === 'Used' && sameIdentity(identity, certificate.identity)) return done();
  return unclear(
    new RuntimeCommandError(
      `target ${slot.name}: after the deploy HAProxy holds ${identityDifference(certificate.identity, identity)} for ${line.path} (status ${served?.status ?? 'none'}), not serial ${certificate.serial} in use`,
      '',
      { target: slot.name, lineage: name, file: line.path },
    ),
  );
}

function isAnotherTransaction(error: Error): boolean {
  return error instanceof RuntimeCommandError && error.reply.startsWith('The ongoing transaction is about');
}

function wanted(context: StepContext): GatedCertificate {
  if (!context.certificate) throw new Error(`a deploy step for ${context.name} without a certificate`);
  return context.certificate;
}

function done(): StepResult {
  return { kind: 'done' };
}

function unclear(error: Error): StepResult {
  return { kind: 'unclear', error };
}
