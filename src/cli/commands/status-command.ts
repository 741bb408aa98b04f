import type { App } from '../../app.js';
import { formatStatusTable, statusExitCode } from '../../observe/status/lineage-status.js';

/** `hotcert status [--json]`: Nagios-style exit code (0 ok, 1 expiring within warnDays, 2 not in sync). */
export async function statusCommand(app: App, options: { json: boolean; warnDays: number }): Promise<number> {
  const report = await app.status(new Date());
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ rows: report.rows, daemonState: report.daemonState }, null, 2)}\n`);
  } else {
    process.stdout.write(`${report.rows.length === 0 ? 'no lineages in Certbot\'s live directory' : formatStatusTable(report.rows)}\n`);
    if (!report.daemonState) process.stdout.write('(no state from "hotcert run": last deploys unknown)\n');
  }
  if (report.daemonStateProblem) process.stderr.write(`hotcert: ${report.daemonStateProblem}\n`);
  return statusExitCode(report.rows, options.warnDays);
}
