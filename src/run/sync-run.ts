import { LineageInvalidError, UsageError } from '../errors.js';
import type { Logger } from '../observe/log/create-logger.js';
import { Field } from '../observe/log/fields.js';
import { logOutcome } from '../observe/log/log-outcome.js';
import type { ProgressReporter } from '../observe/log/progress.js';
import { closeMatches } from '../core/close-matches.js';
import { AdaptiveReading } from './adaptive-reading.js';
import type { DeployEngine } from './deploy-engine.js';
import { forEachLimited } from './for-each-limited.js';
import type { DeployResult, ReconcileOptions } from './reconciler.js';

export interface SyncRequest extends ReconcileOptions {
  /** Only these certificates (`hotcert sync NAME...`); all by default. */
  readonly names?: readonly string[];
}

export interface SyncReport {
  readonly outcomes: readonly DeployResult[];
  readonly certificates: number;
  readonly durationMs: number;
}

// Certificates read, checked and bundled ahead of the targets' serial slots, so that disk and CPU work overlaps
// HAProxy's commits while memory stays bounded.
const CERTIFICATES_IN_FLIGHT = 16;

/**
 * One pass over every certificate of the source (or the named ones) on every target: `hotcert sync`. A target that
 * reloads during the pass loaded hotcert's files afresh and lost commits made to its old worker, so it is looked
 * at again (at most three times).
 * @throws UsageError when a named certificate is not in the source, with the names that come close.
 */
export async function runSync(engine: DeployEngine, request: SyncRequest, log: Logger, progress: ProgressReporter): Promise<SyncReport> {
  const startedMs = Date.now();
  const listing = await engine.source.list();
  if (listing.missing) log.warn(`${listing.missing}: nothing to deploy`, { source: engine.source.kind });
  const names = request.names ? selected(request.names, listing.names, listing.refused.map((entry) => entry.name)) : listing.names;
  const refused = request.names ? listing.refused.filter((entry) => request.names?.includes(entry.name)) : listing.refused;
  const refusedOutcomes: DeployResult[] = refused.flatMap((entry) =>
    engine.targets.map((target) => {
      const error = new LineageInvalidError(`lineage "${entry.name}": ${entry.reason}`, { lineage: entry.name });
      return { lineage: entry.name, target: target.name, kind: 'failed' as const, reason: error.message, error, durationMs: 0 };
    }),
  );
  for (const outcome of refusedOutcomes) logOutcome(log, outcome);

  await engine.preflight();
  progress.start(names.length);
  const pass = async (slotNames?: ReadonlySet<string>): Promise<DeployResult[]> => {
    const slots = engine.targets.filter((target) => !slotNames || slotNames.has(target.name)).map((target) => engine.slot(target.name));
    const reading = new AdaptiveReading();
    const results = await forEachLimited(names, CERTIFICATES_IN_FLIGHT, async (name) => {
      const outcomes = await engine.deployLineage(name, request, reading.next(), slots);
      reading.observe(outcomes);
      for (const outcome of outcomes) logOutcome(log, outcome);
      progress.done(1);
      return outcomes;
    });
    return results.flat();
  };
  let outcomes = await pass();
  progress.finish();
  for (let round = 0; round < 3 && !request.dryRun; round += 1) {
    const reloaded = await engine.reloadedTargets();
    if (reloaded.length === 0) break;
    for (const slot of reloaded) log.warn('target reloaded during the sync; syncing it again', { [Field.target]: slot.name });
    await engine.preflight(reloaded);
    const again = await pass(new Set(reloaded.map((slot) => slot.name)));
    outcomes = [...outcomes.filter((outcome) => !reloaded.some((slot) => slot.name === outcome.target)), ...again];
  }
  return { outcomes: [...refusedOutcomes, ...outcomes], certificates: names.length + refused.length, durationMs: Date.now() - startedMs };
}

function selected(wanted: readonly string[], names: readonly string[], refused: readonly string[]): string[] {
  const unknown = wanted.filter((name) => !names.includes(name) && !refused.includes(name));
  if (unknown.length > 0) {
    const hints = unknown.map((name) => {
      const close = closeMatches(name, names);
      return `"${name}"${close.length > 0 ? ` (did you mean ${close.map((entry) => `"${entry}"`).join(' or ')}?)` : ''}`;
    });
    throw new UsageError(`no such lineage: ${hints.join(', ')}`);
  }
  return names.filter((name) => wanted.includes(name));
}
