import type { App } from '../../app.js';
import { LockHeldError } from '../../errors.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';

/** `hotcert sync`: one pass; the plan on stdout with --dry-run; the exit code tells the worst outcome. */
export async function syncCommand(app: App, options: { dryRun: boolean; force: boolean }): Promise<ExitCodeValue> {
  let report;
  try {
    report = await app.sync(options);
  } catch (error) {
    if (error instanceof LockHeldError) {
      process.stderr.write(`hotcert: ${error.message}\n`);
      return ExitCode.tempfail;
    }
    throw error;
  }
  if (options.dryRun) {
    for (const outcome of report.outcomes) {
      const steps = outcome.plannedSteps?.join('; ') ?? outcome.reason ?? '';
      process.stdout.write(`${outcome.lineage}\t${outcome.target}\t${outcome.kind}${steps ? `\t${steps}` : ''}\n`);
    }
  }
  const kinds = new Set(report.outcomes.map((outcome) => outcome.kind));
  if (kinds.has('failed') || kinds.has('held')) return ExitCode.unavailable;
  if (kinds.has('not-ready')) return ExitCode.tempfail;
  return ExitCode.ok;
}
