import type { App } from '../../app.js';
import { formatFindings } from '../../observe/check/finding.js';
import type { Config } from '../../config/schema.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Stdout } from '../stdout.js';

/** `hotcert check-config`: every finding on stdout, non-zero when any check failed. */
export async function checkConfigCommand(app: App, config: Config, file: string | undefined, stdout: Stdout): Promise<ExitCodeValue> {
  const source = file ?? 'defaults (no configuration file)';
  const configFinding = {
    status: 'ok' as const,
    subject: 'config',
    message: `${source}: valid, ${config.targets.length} target${config.targets.length === 1 ? '' : 's'}`,
  };
  const findings = [configFinding, ...(await app.checkConfig())];
  const failed = findings.filter((finding) => finding.status === 'fail').length;
  stdout.write(`${formatFindings(findings)}\n`);
  stdout.write(failed === 0 ? 'check-config: all checks passed\n' : `check-config: ${failed} check${failed === 1 ? '' : 's'} failed\n`);
  return failed === 0 ? ExitCode.ok : ExitCode.unavailable;
}
