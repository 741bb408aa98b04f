import { describeErrorChain } from '../../errors.js';
import type { TargetConfig } from '../../config/schema.js';
import { dialectFor, untestedWarning } from '../../haproxy/dialect.js';
import type { RuntimeClient } from '../../haproxy/runtime-client.js';
import { cliLevelProblem, crtListProblem } from '../../haproxy/target-preflight.js';
import type { Finding } from './finding.js';

/**
 * What a target's runtime API says about itself: reachable, which HAProxy, `level admin` (certificate commands
 * need it), and whether HAProxy loaded the crt-list under the name hotcert will use for it.
 */
export async function checkTarget(target: TargetConfig, client: RuntimeClient): Promise<Finding[]> {
  const subject = `target ${target.name}`;
  const findings: Finding[] = [];
  try {
    const info = await client.showInfo();
    const warning = untestedWarning(dialectFor(info.version));
    findings.push({ status: warning ? 'warn' : 'ok', subject, message: `${client.address}: ${warning ?? `HAProxy ${info.version}`}` });
  } catch (error) {
    findings.push({ status: 'fail', subject, message: describeErrorChain(error) });
    return findings;
  }
  try {
    const levelProblem = cliLevelProblem(await client.showCliLevel());
    if (levelProblem) {
      findings.push({ status: 'fail', subject, message: levelProblem });
      return findings;
    }
    findings.push({ status: 'ok', subject, message: 'stats socket level admin' });
    const listProblem = crtListProblem(target, await client.showCrtLists());
    findings.push(listProblem ? { status: 'fail', subject, message: listProblem } : { status: 'ok', subject, message: `crt-list ${target.crtList} is loaded` });
  } catch (error) {
    findings.push({ status: 'fail', subject, message: describeErrorChain(error) });
  }
  return findings;
}
