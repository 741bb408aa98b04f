import type { App } from '../../app.js';
import { formatStatusTable, statusVerdict, type StatusThresholds } from '../../observe/status/status-report.js';
import type { Stdout } from '../stdout.js';

/**
 * `hotcert status [--json] [LINEAGE...]`, a monitoring plugin: the verdict line first, then the table (or the JSON
 * report), and the plugin's exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
 */
export async function statusCommand(app: App, options: { json: boolean; names: readonly string[] | undefined; thresholds: StatusThresholds }, stdout: Stdout): Promise<number> {
  const report = await app.status(options.names, new Date());
  const verdict = statusVerdict(report, options.thresholds);
  if (options.json) {
    stdout.write(`${JSON.stringify({ status: verdict.line, exit_code: verdict.code, daemon: report.daemon, targets: report.targets, targets_answering: report.targetsAnswering, rows: report.rows }, null, 2)}\n`);
  } else {
    stdout.write(`${verdict.line}\n`);
    if (report.rows.length > 0) stdout.write(`${formatStatusTable(report.rows)}\n`);
  }
  for (const note of report.notes) process.stderr.write(`hotcert: ${note}\n`);
  return verdict.code;
}
