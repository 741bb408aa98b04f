import type { App } from '../../app.js';
import { LockHeldError } from '../../errors.js';
import { SystemdStatus } from '../../platform/systemd/systemd-status.js';
import type { SyncRequest } from '../../run/sync-run.js';
import { ExitCode, fileFaultExitCode, fileFaultOf, type ExitCodeValue } from '../exit-codes.js';
import type { Stdout } from '../stdout.js';

/** `hotcert sync`: one pass; the plan on stdout with --dry-run; the exit code tells the worst outcome. */
export async function syncCommand(app: App, request: SyncRequest, stdout: Stdout): Promise<ExitCodeValue> {
  let report;
  try {
    report = await app.sync(request, SystemdStatus.fromEnvironment(process.env));
  } catch (error) {
    if (error instanceof LockHeldError) {
      process.stderr.write(`hotcert: ${error.message}\n`);
      return ExitCode.tempfail;
    }
    throw error;
  }
  if (request.dryRun) {
    for (const outcome of report.outcomes) {
      const steps = outcome.plannedSteps?.join('; ') ?? outcome.reason ?? '';
      stdout.write(`${outcome.lineage}\t${outcome.target}\t${outcome.dryRun ? `would ${outcome.kind === 'added' ? 'add' : 'deploy'}` : outcome.kind}${steps ? `\t${steps}` : ''}\n`);
    }
  }
  const failed = report.outcomes.filter((outcome) => outcome.kind === 'failed');
  // A full or read-only disk under hotcert's own files is the host's fault, with its own code.
  const fileFault = failed.map((outcome) => fileFaultOf(outcome.error)).find((fault) => fault !== undefined);
  if (fileFault) return fileFaultExitCode(fileFault);
  const kinds = new Set(report.outcomes.map((outcome) => outcome.kind));
  if (kinds.has('failed') || kinds.has('held')) return ExitCode.unavailable;
  if (kinds.has('not-ready')) return ExitCode.tempfail;
  return ExitCode.ok;
}
